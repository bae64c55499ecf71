"""Write examples/podcast.flac: a ~20 s synthesized podcast from HELD-OUT voices and breaths.

Run from the repository root: ``python training/clean/make_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.audio_io import resample, write_audio
from models.clean.episodes import showcase_episode
from models.clean.sources import load_material

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    material = load_material(REPO / "data-cache" / "clean" / "material", "val")
    episode, seed = showcase_episode(material, duration_s=20.0, first_seed=2026)
    audio = resample(episode.audio, 16000, 24000)
    peak = float(np.max(np.abs(audio)))
    audio = audio * (10 ** (-3 / 20) / max(peak, 1e-9))  # a demo should be comfortably loud
    target = write_audio(REPO / "examples" / "podcast.flac", audio, 24000, subtype="PCM_16")
    print(f"wrote {target} (seed {seed}, {target.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
