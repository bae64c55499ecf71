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
    parser.add_argument("--shards", type=int, default=16, help="training shards of 250 episodes of 8 s")
    parser.add_argument("--export-only", action="store_true",
                        help="only export the current checkpoint to models/weights and the manifest")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.clean.training import TrainConfig, export_weights, train
    from models.registry import WEIGHTS_DIR

    weights_path = WEIGHTS_DIR / f"{WEIGHTS_NAME}.pt"
    if not args.export_only:
        config = TrainConfig(cache_dir=args.cache_dir, checkpoint=args.checkpoint, steps=args.steps,
                             shards=args.shards)
        train(config, progress=ctx.info)
    export_weights(args.checkpoint, weights_path, name=WEIGHTS_NAME)
    result: dict[str, Any] = {"weights": str(weights_path), "checkpoint": str(args.checkpoint)}
    ctx.emit(result, lambda: ctx.out.print(f"exported {weights_path}"))
    return 0
