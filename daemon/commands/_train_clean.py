"""Train the clean job's frame classifier from synthesized podcast episodes (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.console import CliContext

REPO = Path(__file__).resolve().parents[2]
WEIGHTS_NAME = "clean-framenet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, default=REPO / "data-cache" / "clean",
                        help="where rendered material, shards and validation episodes are cached")
    parser.add_argument("--checkpoint", type=Path, default=REPO / "training" / "clean" / "last.pt",
                        help="resumable checkpoint (model + optimizer + step)")
    parser.add_argument("--steps", type=int, default=2500, help="total optimizer steps")
    parser.add_argument("--cycle-steps", type=int, default=None,
                        help="learning-rate cycle length (warm restarts; steps must be a whole number of cycles)")
    parser.add_argument("--shards", type=int, default=16, help="training shards of 250 episodes of 8 s")
    parser.add_argument("--more-voices", action="store_true",
                        help="also train on six more voices (flite awb and festival voices of other languages); "
                             "not the shipped recipe")
    parser.add_argument("--floor-labels", action="store_true",
                        help="with --more-voices: label those voices' pauses and clip ends relative to "
                             "their own noise floor instead of 45-50 dB under the peak")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="seed of the weights' start and the crops drawn (default: the data seed, 1234)")
    export = parser.add_mutually_exclusive_group()
    export.add_argument("--no-export", action="store_true",
                        help="train the checkpoint only (a candidate), leaving the shipped weights alone")
    export.add_argument("--export-only", action="store_true",
                        help="only export the current checkpoint to models/weights and the manifest")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.clean.training import TrainConfig, export_weights, train
    from models.errors import UserInputError
    from models.registry import WEIGHTS_DIR

    weights_path = WEIGHTS_DIR / f"{WEIGHTS_NAME}.pt"
    if not args.export_only:
        try:
            config = TrainConfig(cache_dir=args.cache_dir, checkpoint=args.checkpoint, steps=args.steps,
                                 cycle_steps=args.cycle_steps, shards=args.shards, more_voices=args.more_voices,
                                 floor_labels=args.floor_labels, train_seed=args.train_seed)
        except ValueError as exc:
            raise UserInputError(str(exc)) from exc
        train(config, progress=ctx.info)
    if args.no_export:
        ctx.emit({"checkpoint": str(args.checkpoint)}, lambda: ctx.out.print(f"trained {args.checkpoint}"))
        return 0
    export_weights(args.checkpoint, weights_path, name=WEIGHTS_NAME)
    result: dict[str, Any] = {"weights": str(weights_path), "checkpoint": str(args.checkpoint)}
    ctx.emit(result, lambda: ctx.out.print(f"exported {weights_path}"))
    return 0
