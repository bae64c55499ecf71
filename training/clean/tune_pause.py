"""Choose the planner's PAUSE_EXTENT_SPEECH_PROB on the tuning episodes (training voices and breath
sources only; the held-out episodes are never read).

Run from the repository root: ``python training/clean/tune_pause.py [--checkpoint PATH] [--set PATH]``
(default: the shipped weights on ``data-cache/clean/tune-episodes-v5.npz``). The detector runs once
per episode; each candidate then re-plans. Prints remove-class precision, recall, long-pause recall,
speech frames cut and short-pause frames cut per candidate. 0.2 is the planner before the rule
(the long-pause decision used the cautious mask); 1.01 judges by the speech label alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tune_events import tuning_episodes

from models.clean import bench, planner
from models.clean.detect import analyse, measure_signal
from models.clean.labels import ANALYSIS_SR
from models.clean.network import FrameNet  # noqa: F401  (registers the architecture)
from models.clean.pipeline import load_detector
from models.registry import build_model, load_checkpoint_file

CANDIDATES = (0.2, 0.3, 0.4, 0.5, 0.7, 0.9, 1.01)


def main() -> None:
    parser = argparse.ArgumentParser(description="choose PAUSE_EXTENT_SPEECH_PROB on the tuning episodes")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a training checkpoint instead of the shipped weights")
    parser.add_argument("--set", type=Path, default=Path("data-cache/clean/tune-episodes-v5.npz"),
                        help="tuning episodes (never the held-out val-episodes.npz)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    episode_audio, episode_labels = tuning_episodes(args.set)
    audio, labels = list(episode_audio), list(episode_labels)
    model = load_detector(device="cpu") if args.checkpoint is None else build_model(
        load_checkpoint_file(args.checkpoint))
    analyses = {id(a): analyse(measure_signal(a), model, duration_s=a.shape[0] / ANALYSIS_SR,
                               sample_rate=ANALYSIS_SR) for a in audio}
    settings = bench.bench_settings()
    for candidate in CANDIDATES:
        planner.PAUSE_EXTENT_SPEECH_PROB = candidate  # read by the planner at call time
        r = bench.score(str(candidate), lambda a: bench.system_output(analyses[id(a)], settings), audio, labels)
        print(f"{candidate}: P {r.precision:.4f} R {r.recall:.4f} long pause {r.recall_by_class['long pause']:.4f} "
              f"breath {r.recall_by_class['breath']:.4f} speech cut {100 * r.speech_removed:.4f} % "
              f"short-pause cut {100 * r.short_pauses_removed:.3f} %", flush=True)


if __name__ == "__main__":
    main()
