"""Choose the planner's BREATH_GROW_PROB on the tuning episodes (training voices and breath sources only).

Run from the repository root: ``python training/clean/tune_grow.py [--checkpoint PATH]`` (default: the
shipped weights). Prints remove-class precision, recall, breath recall, speech frames cut and F1 per
candidate; the held-out episodes are never read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from models.clean import bench, planner
from models.clean.network import FrameNet  # noqa: F401  (registers the architecture)
from models.clean.pipeline import load_detector
from models.clean.training import TrainConfig, ensure_tuning_set
from models.registry import build_model, load_checkpoint_file

#: 1.01 never grows (a probability cannot reach it): the planner without the rule.
CANDIDATES = (0.2, 0.3, 0.4, 0.5, 1.01)


def main() -> None:
    parser = argparse.ArgumentParser(description="choose BREATH_GROW_PROB on the tuning episodes")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a training checkpoint instead of the shipped weights")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = TrainConfig(cache_dir=Path("data-cache/clean"), checkpoint=Path("training/clean/last.pt"))
    data = np.load(ensure_tuning_set(config))
    audio, labels = list(data["audio"]), list(data["labels"])
    if args.checkpoint is None:
        model = load_detector(device="cpu")
    else:
        model = build_model(load_checkpoint_file(args.checkpoint))
    for candidate in CANDIDATES:
        planner.BREATH_GROW_PROB = candidate  # read by the planner at call time
        r = bench.score(str(candidate), bench.our_system(model, bench.bench_settings()), audio, labels)
        f1 = 2 * r.precision * r.recall / (r.precision + r.recall)
        print(f"{candidate}: P {r.precision:.4f} R {r.recall:.4f} breath {r.recall_by_class['breath']:.4f} "
              f"speech {100 * r.speech_removed:.4f} % F1 {f1:.4f}")


if __name__ == "__main__":
    main()
