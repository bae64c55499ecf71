"""Leave-one-breath-source-out check: does a breath recipe generalise to a timbre it never heard?

Trains a short run without one training breath source (``--without``), then scores the
detector + planner on episodes of the training voices whose every breath comes from that
source (:func:`models.clean.training.ensure_unseen_breath_set`). Comparing recipes this way
(``--random-share 0`` is the v4 recipe without whispered breaths; the default is v5;
``--spec-augment [--breath-eq-db DB]`` adds training-time spectral augmentation; ``--cycle-steps N
--resume-from CKPT`` continues a finished run with warm restarts of the learning rate) chooses the
recipe without reading the held-out benchmark. ``--score-only CHECKPOINT`` scores an
existing checkpoint or weights file on the same episodes. ``--recipe v5`` trains on the 16 voices of
the recipe before v6 (every leave-one-source-out result in ``docs/clean.md`` was made that way).

Run from the repository root, e.g.::

    nice -n 10 python training/clean/loso_check.py --without fluidr3_gm-121 --steps 1000 --shards 8
    nice -n 10 python training/clean/loso_check.py --without fluidr3_gm-121 espeak-whisper \\
        --random-share 0 --steps 1000 --shards 8

Results go to ``data-cache/clean/runs/loso-<recipe>.json`` (and the log next to it); runs of other than
1000 steps carry ``-<steps>steps`` (and ``-cycle<N>``) in that name, so a longer run of a recipe sits
beside the short one.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.clean import bench
from models.clean.augment import SpecAugment
from models.clean.network import FrameNet  # noqa: F401  (registers the architecture)
from models.clean.training import (
    RECIPES,
    TrainConfig,
    detector_from_checkpoints,
    ensure_unseen_breath_set,
    load_validation_set,
    train,
)

CACHE = Path("data-cache/clean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--without", nargs="+", required=True, help="breath source keys left out; the first is checked")
    parser.add_argument("--random-share", type=float, default=None, help="share of domain-randomised breaths")
    parser.add_argument("--spec-augment", action="store_true", help="random EQ and frequency masks in training")
    parser.add_argument("--breath-eq-db", type=float, default=0.0,
                        help="with --spec-augment: random EQ of up to this many dB on breath frames only")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="seed of the weights' start and the crops (same shards): a second ensemble member")
    parser.add_argument("--recipe", choices=tuple(RECIPES), default="v6",
                        help="whose voices (steps and shards are this script's own)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--cycle-steps", type=int, default=None,
                        help="learning-rate cycle length (steps a whole number of cycles): warm restarts")
    parser.add_argument("--resume-from", type=Path, default=None,
                        help="start from a copy of this training checkpoint (it is never written), e.g. the "
                             "end of a first cycle")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--score-only", type=Path, nargs="+", default=None,
                        help="score this checkpoint (several: their ensemble) instead of training")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extra: dict[str, Any] = {key: RECIPES[args.recipe][key] for key in ("more_voices", "floor_labels")}
    if args.random_share is not None:
        extra["random_breath_share"] = args.random_share
    if args.train_seed is not None:
        extra["train_seed"] = args.train_seed
    if args.spec_augment:
        extra["spec_augment"] = SpecAugment(breath_eq_db=args.breath_eq_db)
    probe = TrainConfig(cache_dir=CACHE, checkpoint=Path("unused"), without_breaths=tuple(args.without), **extra)
    tag = probe.run_tag if args.steps == 1000 else f"{probe.run_tag}-{args.steps}steps"
    cycle_suffix = "" if args.cycle_steps is None else f"-cycle{args.cycle_steps}"
    tag += cycle_suffix
    name = tag if args.score_only is None else f"{tag}-score-{'+'.join(path.stem for path in args.score_only)}"
    run_dir = CACHE / "runs"
    run_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=run_dir / f"loso-{name}.log", level=logging.INFO, format="%(asctime)s %(message)s")
    checkpoints = args.score_only or [run_dir / f"loso-{probe.run_tag}-{args.steps}{cycle_suffix}.pt"]
    if args.score_only is None:
        config = TrainConfig(cache_dir=CACHE, checkpoint=checkpoints[0], steps=args.steps, shards=args.shards,
                             cycle_steps=args.cycle_steps, without_breaths=tuple(args.without), **extra)
        if args.resume_from is not None and not checkpoints[0].exists():
            shutil.copyfile(args.resume_from, checkpoints[0])
        train(config, progress=logging.getLogger("loso").info)
    model = detector_from_checkpoints(checkpoints)
    audio, labels = load_validation_set(ensure_unseen_breath_set(probe, args.without[0]))
    result = bench.score(name, bench.our_system(model, bench.bench_settings()), list(audio), list(labels))
    frames = _frame_recall(model, audio, labels)
    payload = {"recipe": name, "checked_source": args.without[0], "steps": args.steps, "precision": result.precision,
               "recall": result.recall, "recall_by_class": result.recall_by_class,
               "speech_removed": result.speech_removed, "short_pauses_removed": result.short_pauses_removed,
               "breath_frames_labelled_breath": frames}
    (run_dir / f"loso-{name}.json").write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload, indent=2))


def _frame_recall(model: torch.nn.Module, audio: np.ndarray, labels: np.ndarray) -> float:
    """Share of true breath frames the model's argmax calls breath (before any planner rule)."""
    from models.clean.features import features_of
    from models.clean.labels import BREATH

    hits = total = 0
    with torch.inference_mode():
        for clip, truth in zip(audio, labels, strict=True):
            pred = model(torch.from_numpy(features_of(clip))[None])[0].argmax(-1).numpy()[: truth.shape[0]]
            hits += int(np.sum((pred == BREATH) & (truth[: pred.shape[0]] == BREATH)))
            total += int(np.sum(truth == BREATH))
    return hits / total if total else float("nan")


if __name__ == "__main__":
    main()
