"""Train the piano transcriber on synthesized, augmented renders (resumable)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from daemon.console import CliContext, mapping_table

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CHECKPOINT = REPO / "training" / "transcribe" / "last.pt"
DEFAULT_CACHE = REPO / "data-cache" / "transcribe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-steps", type=int, default=2000, help="total optimizer steps")
    parser.add_argument("--max-minutes", type=float, default=1e9, help="stop (and save) after this long")
    parser.add_argument("--shards", type=int, default=40,
                        help="training shards of 16 rendered 30 s items (FluidR3 pianos, FluidSynth)")
    parser.add_argument("--freepats-shards", type=int, default=0,
                        help="more shards on the FreePats pianos (needs Debian timidity and freepats)")
    parser.add_argument("--low-shards", type=int, default=0,
                        help="more shards of music transposed down into the bass (FluidR3 and FreePats)")
    parser.add_argument("--restrike-shards", type=int, default=0,
                        help="more shards of keys re-struck while they ring: repeated notes and chords under the "
                             "pedal, legato re-strikes, fast repeated notes (FluidR3 and FreePats)")
    parser.add_argument("--additive-shards", type=int, default=0,
                        help="more shards on procedural pianos: a new random instrument (inharmonicity, decay, "
                             "beating, hammer, dampers) per item")
    parser.add_argument("--mda-shards", type=int, default=0,
                        help="more shards on the mda Piano (its own recordings; a random voicing per item), "
                             "rendered by SuperCollider (needs Debian supercollider-server and sc3-plugins-server, "
                             "and pip supriya)")
    parser.add_argument("--channels", type=int, nargs=3, default=[8, 24, 24], metavar=("PITCH", "HARMONIC", "KEYS"),
                        help="network width: pitch layers, harmonic/context layers, per-key trunk")
    parser.add_argument("--input-channels", type=int, choices=(1, 2), default=2,
                        help="spectrogram planes: 1 = 2048-point window only, 2 = also the 8192-point one "
                             "(shards in data-cache/transcribe/train-2ch/)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (halves every --lr-half-life)")
    parser.add_argument("--lr-half-life", type=float, default=4000.0, help="steps for the learning rate to halve")
    parser.add_argument("--anneal-start", type=int, default=1250,
                        help="step after which the learning rate halves every --anneal-half-life steps")
    parser.add_argument("--anneal-half-life", type=float, default=300.0)
    parser.add_argument("--eval-every", type=int, default=250, help="steps between validation runs")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="resumable training state")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="rendered data (git-ignored)")
    parser.add_argument("--weights-out", type=Path, default=None,
                        help="best weights (default: models/weights/transcribe-piano.pt + manifest entry)")
    parser.add_argument("--init-weights", type=Path, default=None,
                        help="start a new run (no checkpoint yet) from these weights: a fine-tune")
    parser.add_argument("--keep-snapshots", action="store_true",
                        help="keep the weights of every validation step beside the checkpoint (snapshots/)")
    parser.add_argument("--build-only", action="store_true",
                        help="only render the training shards and validation set, then stop")
    parser.add_argument("--log-file", type=Path, default=None, help="also log progress here (INFO level)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for training (default 1: leaves a core free beside a long run)")
    parser.add_argument("--bf16", action="store_true",
                        help="forward pass under bfloat16 autocast: about twice as fast on CPUs with native "
                             "bfloat16 (AVX512-BF16), slower elsewhere")
    parser.add_argument("--rescorers", action="store_true",
                        help="instead of training the network, fit its decoding rescorers (octave ghosts, "
                             "re-strikes, note ends) on fresh renders of the training pianos: models/weights/"
                             "transcribe-ghosts.pt, transcribe-restrikes.pt and transcribe-ends.pt + manifest "
                             "entries, or in the folder of --weights-out")
    parser.add_argument("--ensemble-of", type=Path, nargs="+", default=None, metavar="WEIGHTS",
                        help="instead of training, join these trained networks into one ensemble weight file "
                             "(their probabilities averaged): models/weights/transcribe-piano.pt + manifest "
                             "entry, or --weights-out")
    parser.add_argument("--rescorer-items", type=int, default=128,
                        help="fresh items per piano source for --rescorers")
    parser.add_argument("--rescorer-workers", type=int, default=1,
                        help="processes rendering the fresh items for --rescorers (one per free core)")
    parser.add_argument("--rescorer-network", type=Path, default=None,
                        help="network to fit the rescorers for (default: the shipped "
                             "models/weights/transcribe-piano.pt)")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.registry import WEIGHTS_DIR
    from models.transcribe import dataset
    from models.transcribe.train import VALIDATION_PIECES, TrainConfig, train, wanted_shards

    if args.log_file is not None:
        handler = logging.FileHandler(args.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for name in ("models.transcribe", "models.synth"):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
    if args.rescorers:
        return _fit_rescorers(args, ctx)
    if args.ensemble_of:
        return _join_ensemble(args, ctx)
    config = TrainConfig(cache_dir=args.cache_dir, checkpoint=args.checkpoint,
                         weights=args.weights_out or WEIGHTS_DIR / "transcribe-piano.pt",
                         target_shards=args.shards, freepats_shards=args.freepats_shards,
                         low_shards=args.low_shards, restrike_shards=args.restrike_shards,
                         additive_shards=args.additive_shards, mda_shards=args.mda_shards,
                         channels=tuple(args.channels),
                         input_channels=args.input_channels, batch=args.batch,
                         max_steps=args.max_steps,
                         max_minutes=args.max_minutes, eval_every=args.eval_every, lr=args.lr,
                         lr_half_life_steps=args.lr_half_life, anneal_start_step=args.anneal_start,
                         anneal_half_life_steps=args.anneal_half_life, init_weights=args.init_weights,
                         keep_snapshots=args.keep_snapshots, threads=args.threads,
                         bf16=args.bf16)
    if args.build_only:
        import torch

        torch.set_num_threads(1)
        dataset.build_validation(args.cache_dir, count=VALIDATION_PIECES)
        for source, count in wanted_shards(config).items():
            for shard in range(count):
                dataset.build_shard(shard, cache_dir=args.cache_dir, source=source,
                                    input_channels=args.input_channels)
        result: dict[str, object] = {
            f"{source} shards": len(dataset.existing_shards(args.cache_dir, source, args.input_channels))
            for source in dataset.SOURCES}
    else:
        result = train(config)
    ctx.emit(result, lambda: ctx.out.print(mapping_table("train transcribe", result)))
    return 0


def _fit_rescorers(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.registry import WEIGHTS_DIR
    from models.transcribe.rescorer_fit import RescorerFitConfig, fit_rescorers

    network = args.rescorer_network or WEIGHTS_DIR / "transcribe-piano.pt"
    out_dir = args.weights_out.parent if args.weights_out else WEIGHTS_DIR
    config = RescorerFitConfig(cache_dir=args.cache_dir, items_per_source=args.rescorer_items,
                               workers=args.rescorer_workers)
    with ctx.progress("fresh renders for the rescorers") as progress:
        result = fit_rescorers(network, out_dir, config, progress=progress)
    ctx.emit(result, lambda: ctx.out.print(mapping_table("rescorers", result)))
    return 0


def _join_ensemble(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.registry import WEIGHTS_DIR
    from models.transcribe.train import join_ensemble

    out = args.weights_out or WEIGHTS_DIR / "transcribe-piano.pt"
    result = join_ensemble(args.ensemble_of, out)
    ctx.emit(result, lambda: ctx.out.print(mapping_table("ensemble", result)))
    return 0
