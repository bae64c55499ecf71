"""Pool several ``reamend --json bench clean`` runs (held-out draws) episode by episode.

Each run's JSON holds, per system, the remove-class counts of every episode and the per-class
counts; pooled, they give the figures of one benchmark over all the runs' episodes, with the same
percentile-bootstrap intervals over episodes as the benchmark prints.

Run: python training/clean/pool_draws.py bench-draw1.json bench-draw2.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.clean.bench import remove_class_intervals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="JSON files of `reamend --json bench clean`")
    args = parser.parse_args()
    episodes: dict[str, list[list[int]]] = defaultdict(list)
    classes: dict[str, dict[str, np.ndarray]] = defaultdict(lambda: defaultdict(lambda: np.zeros(2)))
    for run in args.runs:
        for system in json.loads(run.read_text())["systems"]:
            episodes[system["name"]].extend(system["episode_counts"])
            for key, counts in system["class_counts"].items():
                classes[system["name"]][key] += counts
    for name, counts in episodes.items():
        tp, predicted, true_frames = np.asarray(counts, dtype=float).sum(axis=0)
        (p_low, p_high), (r_low, r_high) = remove_class_intervals(np.asarray(counts))
        by_class = "  ".join(f"{key} {hit / total:.4f}" for key, (hit, total) in classes[name].items())
        print(f"{name:14s} {len(counts)} episodes  precision {tp / predicted:.4f} ({p_low:.3f}-{p_high:.3f})  "
              f"recall {tp / true_frames:.4f} ({r_low:.3f}-{r_high:.3f})  {by_class}")


if __name__ == "__main__":
    main()
