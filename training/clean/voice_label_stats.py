"""How much of each voice's speech label is quiet: the label-noise check behind the more-voices lead.

Episodes label a whole utterance as speech except its internal pauses (runs of at least 120 ms,
45 dB under the utterance's loudest 10 ms frame; ``episodes.internal_pauses``). A voice whose pauses
between words are not that quiet hands the detector quiet stretches labelled speech, which teaches it
to hold on to speech at the ends of pauses. For every training, more-voices and unheard-check voice
(never the held-out ones: this is for choosing training material) this prints the share of its
frames (first 60 clips, trimmed as episodes trim them) labelled speech although 30 or 40 dB under
the clip's loudest frame, and the share labelled internal pause. ``--floor-labels`` labels the
more-voices recipe's voices relative to their own noise floor, as ``reamend train clean
--more-voices --floor-labels`` does (``episodes.label_depths``).

Run: python training/clean/voice_label_stats.py [--floor-labels] [--cache-dir data-cache/clean/material]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.clean.episodes import internal_pauses, trimmed_utterance
from models.clean.labels import HOP
from models.clean.sources import (
    MORE_TRAIN_VOICES,
    TRAIN_VOICES,
    UNHEARD_CHECK_VOICES,
    Pool,
)

REPO = Path(__file__).resolve().parents[2]


def label_shares(raw: np.ndarray, *, floor_relative: bool) -> tuple[int, int, int, int]:
    """Frames, speech-labelled frames 30 and 40 dB under the loudest, internal-pause frames."""
    clip, pause_db = trimmed_utterance(raw, floor_relative=floor_relative)
    count = clip.shape[0] // HOP
    energy = 10 * np.log10(np.mean(clip[: count * HOP].reshape(count, HOP) ** 2, axis=1) + 1e-12)
    speech = np.ones(count, dtype=bool)
    for lo, hi in internal_pauses(clip, depth_db=pause_db):
        speech[lo // HOP:hi // HOP] = False
    below = energy - energy.max()
    return count, int(np.sum(speech & (below < -30))), int(np.sum(speech & (below < -40))), int(np.sum(~speech))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--floor-labels", action="store_true",
                        help="label the more-voices recipe's voices relative to their noise floor")
    parser.add_argument("--cache-dir", type=Path, default=REPO / "data-cache" / "clean" / "material")
    args = parser.parse_args()
    groups = (("train", TRAIN_VOICES), ("more", MORE_TRAIN_VOICES), ("unheard", UNHEARD_CHECK_VOICES))
    print("group     voice                    frames  speech<-30dB  speech<-40dB  internal pause")
    for group, voices in groups:
        for voice in voices:
            path = args.cache_dir / f"voice-{voice.name}.npz"
            if not path.exists():  # rendered by the commands that use it, with their own seeds
                print(f"{group:9s} {voice.name:24s} not rendered yet ({path.name})")
                continue
            pool = Pool.load(path)
            relative = args.floor_labels and group == "more"
            totals = np.sum([label_shares(pool.clip(i), floor_relative=relative)
                             for i in range(min(60, len(pool)))], axis=0)
            frames = max(int(totals[0]), 1)
            print(f"{group:9s} {voice.name:24s} {frames:6d}  {totals[1] / frames:12.3f}  {totals[2] / frames:12.3f}  "
                  f"{totals[3] / frames:14.3f}")


if __name__ == "__main__":
    main()
