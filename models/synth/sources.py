"""Where training material lives, and the guard that keeps reserved material out.

Training data is synthesized only from packaged sources (Debian soundfonts,
English asterisk prompts, TTS voices, music21's corpus). The
MuseScore General soundfonts and the French, Spanish and Italian asterisk
prompts are reserved for external evaluation: every training path goes through
:func:`assert_trainable`, which refuses them.
"""

from __future__ import annotations

import re
from pathlib import Path

from models.errors import UserInputError

SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"), Path("/usr/share/soundfonts"))
ASTERISK_DIR = Path("/usr/share/asterisk/sounds")

#: Soundfont file names by role. Validation uses a font the model never trains on.
TRAIN_SOUNDFONTS = ("FluidR3_GM.sf2",)
VALIDATION_SOUNDFONTS = ("TimGM6mb.sf2",)

_RESERVED_PATTERNS = (
    re.compile(r"musescore", re.IGNORECASE),
    re.compile(r"MuseScore_General", re.IGNORECASE),
    re.compile(r"asterisk/sounds/(fr|es|it)([_/-]|$)", re.IGNORECASE),
    re.compile(r"asterisk-core-sounds-(fr|es|it)", re.IGNORECASE),
)


class ReservedMaterialError(UserInputError):
    """Raised when training code reaches for material reserved for external evaluation."""


def is_reserved(path: str | Path) -> bool:
    text = str(Path(path).resolve()) + "|" + str(path)
    return any(pattern.search(text) for pattern in _RESERVED_PATTERNS)


def assert_trainable(path: str | Path) -> Path:
    """Return ``path`` if training may use it; raise :class:`ReservedMaterialError` otherwise."""
    if is_reserved(path):
        raise ReservedMaterialError(f"{path} is reserved for external evaluation and must not be trained on")
    return Path(path)


def find_soundfont(name: str) -> Path:
    """Locate a soundfont by file name in the Debian folders."""
    for folder in SOUNDFONT_DIRS:
        candidate = folder / name
        if candidate.exists():
            return candidate.resolve()
    raise FileNotFoundError(
        f"soundfont {name} not found in {', '.join(map(str, SOUNDFONT_DIRS))}; "
        "install Debian packages fluid-soundfont-gm, timgm6mb-soundfont and csound-soundfont"
    )


def training_soundfonts() -> list[Path]:
    return [assert_trainable(find_soundfont(name)) for name in TRAIN_SOUNDFONTS]


def validation_soundfonts() -> list[Path]:
    return [assert_trainable(find_soundfont(name)) for name in VALIDATION_SOUNDFONTS]


def english_prompt_files() -> list[Path]:
    """Every English asterisk prompt (one speaker, Allison), deduplicated through symlinks."""
    seen: dict[Path, Path] = {}
    for folder in (ASTERISK_DIR / "en_US_f_Allison", ASTERISK_DIR / "en"):
        if folder.exists():
            for wav in sorted(folder.rglob("*.wav")):
                seen.setdefault(wav.resolve(), wav)
    files = [assert_trainable(path) for path in seen.values()]
    if not files:
        raise FileNotFoundError("no English asterisk prompts found; install asterisk-core-sounds-en-wav")
    return files

