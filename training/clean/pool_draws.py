"""Pool several ``reamend --json bench clean`` runs (held-out draws) episode by episode.

Each run's JSON holds, per system, the remove-class counts of every episode and the per-class
counts; pooled, they give the figures of one benchmark over all the runs' episodes, with the same
percentile-bootstrap intervals over episodes as the benchmark prints.

Run: python training/clean/pool_draws.py bench-draw1.json bench-draw2.json

``--speech-only EPISODES.npz ...`` (each run's cached episode file, in the same order) pools only the
episodes that contain speech: the remove class of the ~3 % speech-free episodes is their whole length,
so they weigh far more than their number, and a podcast always has speech. Per-class figures are not
printed then (the runs keep them per set, not per episode).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.clean.bench import remove_class_intervals
from models.clean.labels import SPEECH
from models.clean.training import load_validation_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="JSON files of `reamend --json bench clean`")
    parser.add_argument("--speech-only", type=Path, nargs="+", metavar="EPISODES",
                        help="the runs' episode files (.npz), in the same order: pool only episodes with speech")
    args = parser.parse_args()
    if args.speech_only and len(args.speech_only) != len(args.runs):
        parser.error("--speech-only needs one episode file per run, in the runs' order")
    episodes: dict[str, list[list[int]]] = defaultdict(list)
    classes: dict[str, dict[str, np.ndarray]] = defaultdict(lambda: defaultdict(lambda: np.zeros(2)))
    for index, run in enumerate(args.runs):
        systems = json.loads(run.read_text())["systems"]
        keep = (_has_speech(args.speech_only[index], len(systems[0]["episode_counts"])) if args.speech_only
                else None)
        for system in systems:
            counts = system["episode_counts"]
            episodes[system["name"]].extend(c for i, c in enumerate(counts) if keep is None or keep[i])
            if keep is None:
                for key, pair in system["class_counts"].items():
                    classes[system["name"]][key] += pair
    for name, counts in episodes.items():
        tp, predicted, true_frames = np.asarray(counts, dtype=float).sum(axis=0)
        (p_low, p_high), (r_low, r_high) = remove_class_intervals(np.asarray(counts))
        by_class = "  ".join(f"{key} {hit / total:.4f}" for key, (hit, total) in classes[name].items())
        print(f"{name:14s} {len(counts)} episodes  precision {tp / predicted:.4f} ({p_low:.3f}-{p_high:.3f})  "
              f"recall {tp / true_frames:.4f} ({r_low:.3f}-{r_high:.3f})" + (f"  {by_class}" if by_class else ""))


def _has_speech(path: Path, count: int) -> list[bool]:
    """Whether each of the first ``count`` episodes of a cached episode file has a speech frame."""
    _, labels = load_validation_set(path)
    if len(labels) < count:
        raise SystemExit(f"{path} holds {len(labels)} episodes; the run scored {count}")
    return [bool(np.any(frames == SPEECH)) for frames in labels[:count]]


if __name__ == "__main__":
    main()
