"""Training and evaluation material for the gap model, synthesized once and cached on disk.

Music: procedurally generated piano music and music21 corpus pieces rendered
with a soundfont (piano mostly, a few other instruments so the model does not
only know hammers). Speech: the English asterisk prompts and espeak-ng voices.
Training uses FluidR3_GM and one set of voices; the held-out split uses the
validation soundfont (TimGM6mb), other seeds, other corpus pieces, held-out
prompts and other voices, so benchmark figures are on material never trained on.
Everything is mono float32 at :data:`models.inpaint.stft.REFERENCE_SR`.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import soundfile as sf

from models.audio_io import resample
from models.inpaint.stft import REFERENCE_SR
from models.synth.sources import assert_trainable, english_prompt_files, training_soundfonts, validation_soundfonts

if TYPE_CHECKING:
    from models.synth.compositions import Performance

log = logging.getLogger(__name__)

#: What a clip's instrument is drawn as: a FreePats program, an mda Piano voicing.
_Instrument = TypeVar("_Instrument")

Split = Literal["train", "validation"]

#: General MIDI programs besides the piano (0): e-piano, harpsichord, vibraphone, organ,
#: nylon guitar, violin, strings, flute, clarinet.
OTHER_PROGRAMS = (4, 6, 11, 19, 24, 40, 48, 73, 71)

TRAIN_VOICES = ("en-us+m1", "en-us+f2", "en-gb+m3", "en-gb+f3", "en-029+m2", "en-gb-scotland+f1",
                "en-us+m4", "en-gb-x-gbcwmd+f4")
VALIDATION_VOICES = ("en-gb-x-rp+f5", "en-us-nyc+m7")

SENTENCES = (
    "The old piano in the hall was tuned every spring before the concert season began.",
    "She carried the recorder up the stairs and set it down beside the open window.",
    "A quiet evening on the river is the best cure for a long week of work.",
    "Please check the tape for dropouts before you copy it to the new archive.",
    "Seven small boats drifted past the harbour while the bells rang at noon.",
    "He read the letter twice, folded it carefully and put it in his coat pocket.",
    "The museum opens at nine and closes early on the first Monday of each month.",
    "Our train was delayed by snow, so we missed the first half of the recital.",
    "Thick fog rolled over the hills and the road disappeared within minutes.",
    "Every recording tells a story about the room, the players and the machine.",
    "The children laughed as the puppy chased its tail around the kitchen table.",
    "Bring a warm jacket, a flask of tea and a map in case the weather turns.",
    "The committee agreed to meet again next Thursday to settle the budget.",
    "Light from the lamp fell across the pages of the book she had forgotten.",
    "Nobody expected the storm to knock out the power for the whole weekend.",
    "Fresh bread and strong coffee filled the little bakery with a lovely smell.",
    "The engineer adjusted the levels and asked the singer to try once more.",
    "Far away a dog barked, and then the village was silent again.",
    "Write your name at the top of the form and sign it at the bottom.",
    "The garden needs rain, but the forecast promises another dry week.",
    "Four violins and a cello played in the courtyard until the sun went down.",
    "If the signal fades, wait a moment and the sound will come back by itself.",
    "My grandfather kept every cassette he ever bought in a wooden box.",
    "The speaker paused, smiled at the audience and began the final chapter.",
)


@dataclass(frozen=True)
class Clip:
    name: str
    samples: np.ndarray
    kind: Literal["music", "speech"]


def cache_dir() -> Path:
    root = Path(__file__).resolve().parents[2] / "data-cache" / "inpaint"
    root.mkdir(parents=True, exist_ok=True)
    return root


def music_clips(split: Split, *, count: int, duration_s: float = 20.0, corpus_share: float = 0.4,
                sr: int = REFERENCE_SR) -> list[Clip]:
    """``count`` rendered music clips for ``split`` at ``sr``, cached as FLAC under ``data-cache/inpaint``."""
    from models.synth.compositions import corpus_grid, corpus_paths, corpus_performance, generate_performance
    from models.synth.midi_render import render_midi

    soundfont = (training_soundfonts() if split == "train" else validation_soundfonts())[0]
    assert_trainable(soundfont)
    seed_base = 0 if split == "train" else 100_000
    pieces = corpus_paths(split=split)
    rng = np.random.default_rng(seed_base + 7)
    n_corpus = min(len(pieces), round(count * corpus_share))
    chosen = [pieces[int(i)] for i in rng.choice(len(pieces), size=n_corpus, replace=False)] if n_corpus else []
    clips = []
    for index in range(count):
        seed = seed_base + index
        program = 0 if rng.random() < 0.7 else int(rng.choice(OTHER_PROGRAMS))
        peak_dbfs = float(rng.uniform(-12, -1))  # drawn even when cached: names must not depend on the cache
        if index < len(chosen):
            name = f"{split}-corpus-{chosen[index].stem}-{seed}-p{program}"
        else:
            name = f"{split}-gen-{seed}-p{program}"
        if sr != REFERENCE_SR:
            name += f"-{sr}"

        def render(index: int = index, name: str = name, seed: int = seed, program: int = program,
                   peak_dbfs: float = peak_dbfs) -> np.ndarray:
            if index < len(chosen):
                grid = corpus_grid(assert_trainable(chosen[index]))
                performance = corpus_performance(grid, name=name, seed=seed, max_duration_s=duration_s)
            else:
                performance = generate_performance(seed=seed, duration_s=duration_s)
            return render_midi(performance, soundfont=soundfont, sr=sr, program=program, peak_dbfs=peak_dbfs)

        clips.append(cached_music(name, sr, render))
    return clips


def cached_music(name: str, sr: int, render: Callable[[], np.ndarray]) -> Clip:
    """The music clip cached as ``<name>.flac`` (24-bit), rendered by ``render`` the first time."""
    path = cache_dir() / f"{name}.flac"
    if not path.exists():
        sf.write(str(path), render(), sr, subtype="PCM_24")
        log.info("rendered %s", path.name)
    return Clip(name=name, samples=_read(path), kind="music")


def speech_clips(split: Split, *, count: int, duration_s: float = 20.0) -> list[Clip]:
    """Speech clips: asterisk prompts (hash-split) and espeak-ng sentences (voice-split)."""
    prompts = [p for p in english_prompt_files() if (_fraction(p.name) < 0.15) == (split == "validation")]
    voices = TRAIN_VOICES if split == "train" else VALIDATION_VOICES
    return _speech(f"{split}-speech", prompts, voices, seed=11 if split == "train" else 100_011, count=count,
                   duration_s=duration_s)


def freepats_clips(*, count: int, duration_s: float = 20.0, sr: int = REFERENCE_SR,
                   seed_base: int = 200_000, name_prefix: str = "train-freepats") -> list[Clip]:
    """Generated piano music on the FreePats pianos (TiMidity++): a second, independent piano sample set.

    FluidR3 alone teaches the model one piano's partials and decays; the
    benchmark plays another soundfont's. Seeds differ from every other split.
    """
    from models.synth.timidity_render import FREEPATS_PIANO_PROGRAMS, render_freepats

    def program(rng: np.random.Generator) -> tuple[str, int]:
        chosen = int(rng.choice(FREEPATS_PIANO_PROGRAMS))
        return f"-p{chosen}", chosen

    return _generated_piano_clips(count=count, duration_s=duration_s, sr=sr, seed_base=seed_base,
                                  name_prefix=name_prefix, instrument=program,
                                  play=lambda performance, chosen: render_freepats(performance, sr=sr, program=chosen))


def mda_clips(*, count: int, duration_s: float = 20.0, sr: int = REFERENCE_SR, seed_base: int = 400_000,
              name_prefix: str = "train-mda") -> list[Clip]:
    """Generated piano music on the mda Piano (SuperCollider), a random voicing per clip: a third real
    piano sample set (see :mod:`models.synth.mda_piano`). Seeds differ from every other split."""
    from models.synth.mda_piano import random_voicing, render_mda

    return _generated_piano_clips(count=count, duration_s=duration_s, sr=sr, seed_base=seed_base,
                                  name_prefix=name_prefix, instrument=lambda rng: ("", random_voicing(rng)),
                                  play=lambda performance, voicing: render_mda(performance, sr=sr, voicing=voicing,
                                                                               render_sr=sr))


def _generated_piano_clips(*, count: int, duration_s: float, sr: int, seed_base: int, name_prefix: str,
                           instrument: Callable[[np.random.Generator], tuple[str, _Instrument]],
                           play: Callable[[Performance, _Instrument], np.ndarray]) -> list[Clip]:
    """Clip ``i``: the generator's music for seed ``seed_base + i``, played by ``play`` on the instrument that
    ``instrument`` draws from that seed (with a name suffix), scaled to a peak drawn next, cached by name."""
    from models.synth.compositions import generate_performance

    clips = []
    for index in range(count):
        seed = seed_base + index
        rng = np.random.default_rng(seed)
        suffix, drawn = instrument(rng)
        peak_dbfs = float(rng.uniform(-12, -1))
        name = f"{name_prefix}-{seed}{suffix}" + (f"-{sr}" if sr != REFERENCE_SR else "")

        def render(seed: int = seed, drawn: _Instrument = drawn, peak_dbfs: float = peak_dbfs) -> np.ndarray:
            audio = play(generate_performance(seed=seed, duration_s=duration_s), drawn)
            return audio / (np.max(np.abs(audio)) + 1e-9) * np.float32(10 ** (peak_dbfs / 20))

        clips.append(cached_music(name, sr, render))
    return clips


def tuning_music_clips(*, count: int, sr: int = REFERENCE_SR, duration_s: float = 20.0) -> list[Clip]:
    """Training-side clips the model never trains on, for tuning and validating fills.

    Generated music with seeds of their own, alternately on FluidR3 (piano 70 %
    of the time, as in training) and the FreePats pianos; the benchmark's
    held-out soundfont, pieces and seeds are never touched.
    """
    from models.synth.compositions import generate_performance
    from models.synth.midi_render import render_midi

    soundfont = assert_trainable(training_soundfonts()[0])
    clips: list[Clip] = []
    for index in range(count):
        seed = 300_000 + index
        if index % 2:
            clips += freepats_clips(count=1, duration_s=duration_s, sr=sr, seed_base=seed, name_prefix="tune-freepats")
            continue
        rng = np.random.default_rng(seed)
        program = 0 if rng.random() < 0.7 else int(rng.choice(OTHER_PROGRAMS))
        name = f"tune-fluid-{seed}-p{program}-{sr}"

        def render(seed: int = seed, program: int = program, rng: np.random.Generator = rng) -> np.ndarray:
            return render_midi(generate_performance(seed=seed, duration_s=duration_s), soundfont=soundfont, sr=sr,
                               program=program, peak_dbfs=float(rng.uniform(-12, -1)))

        clips.append(cached_music(name, sr, render))
    return clips


def tuning_speech_clips(*, count: int, duration_s: float = 20.0) -> list[Clip]:
    """Training-side speech (training prompts and voices) in clips the model never trains on."""
    prompts = [p for p in english_prompt_files() if _fraction(p.name) >= 0.15]
    return _speech("tune-speech", prompts, TRAIN_VOICES, seed=50_011, count=count, duration_s=duration_s)


def _speech(prefix: str, prompts: list[Path], voices: tuple[str, ...], *, seed: int, count: int,
            duration_s: float) -> list[Clip]:
    rng = np.random.default_rng(seed)
    clips = []
    for index in range(count):
        name = f"{prefix}-{index}"
        path = cache_dir() / f"{name}.flac"
        if not path.exists():
            parts: list[np.ndarray] = []
            total = 0
            while total < duration_s * REFERENCE_SR:
                if index % 2 == 0:
                    piece = _read_any(prompts[int(rng.integers(len(prompts)))])
                else:
                    piece = espeak(SENTENCES[int(rng.integers(len(SENTENCES)))],
                                    voices[int(rng.integers(len(voices)))], speed=int(rng.integers(140, 190)))
                pause = np.zeros(int(rng.uniform(0.05, 0.4) * REFERENCE_SR), dtype=np.float32)
                parts += [piece, pause]
                total += len(piece) + len(pause)
            audio = np.concatenate(parts)[: int(duration_s * REFERENCE_SR)]
            audio = audio / (np.max(np.abs(audio)) + 1e-9) * 10 ** (rng.uniform(-12, -1) / 20)
            audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * 10 ** (rng.uniform(-80, -60) / 20)
            sf.write(str(path), audio.astype(np.float32), REFERENCE_SR, subtype="PCM_24")
            log.info("rendered %s", path.name)
        clips.append(Clip(name=name, samples=_read(path), kind="speech"))
    return clips


def espeak(text: str, voice: str, *, speed: int) -> np.ndarray:
    """``text`` spoken by espeak-ng's ``voice`` (mono, ``REFERENCE_SR``): synthetic speech for the gap
    model's and the detector's training-side clips, so no held-out recording is needed."""
    with tempfile.TemporaryDirectory(prefix="reamend-espeak-") as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
                       check=True, capture_output=True)
        return _read_any(wav)


def _read_any(path: Path) -> np.ndarray:
    samples, sr = sf.read(str(assert_trainable(path)), dtype="float32", always_2d=True)
    return resample(samples.mean(axis=1), int(sr), REFERENCE_SR)


def _read(path: Path) -> np.ndarray:
    samples, _ = sf.read(str(path), dtype="float32")
    return np.asarray(samples, dtype=np.float32)


def _fraction(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
