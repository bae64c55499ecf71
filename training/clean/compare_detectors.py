"""Score detectors side by side with the shipped planner on tuning or leave-one-source-out check
episodes (the held-out episodes are never read): how a retrained detector is compared with the
shipped one before it may replace it.

Run from the repository root::

    python training/clean/compare_detectors.py --out data-cache/clean/runs/cycle2-scores.json \\
        --pair shipped:data-cache/clean/tune-episodes-v5.npz \\
        --pair data-cache/clean/runs/full-cycle2.pt:data-cache/clean/tune-episodes-v5.npz

Each ``--pair`` is ``DETECTOR:EPISODES`` (``shipped`` names the shipped weights, ``a.pt,b.pt`` an
ensemble). Prints one line per pair: remove-class precision and recall, recall per class, speech
frames cut and short-pause frames cut, the benchmark's measures (``models/clean/bench.py``); the
JSON holds the same figures unrounded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from tune_events import analyses_of, score_set

from models.clean import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pair", action="append", required=True, help="DETECTOR:EPISODES (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the scores")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = bench.bench_settings()
    rows = []
    for pair in args.pair:
        spec, episodes = pair.rsplit(":", 1)
        analyses, labels = analyses_of(spec, Path(episodes))
        scores = score_set(analyses, labels, settings)
        rows.append({"detector": spec, "episodes": episodes, "precision": scores.precision,
                     "recall": scores.recall, "recall_by_class": scores.recall_by_class,
                     "speech_removed": scores.speech_removed, "short_pauses_removed": scores.short_pauses_removed})
        print(f"{pair}: P {scores.precision:.4f} R {scores.recall:.4f} "
              + " ".join(f"{name} {value:.4f}" for name, value in scores.recall_by_class.items())
              + f" speech cut {100 * scores.speech_removed:.3f}% short-pause cut "
              f"{100 * scores.short_pauses_removed:.2f}%", flush=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
