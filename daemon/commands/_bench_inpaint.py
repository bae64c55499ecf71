"""Benchmark inpaint against zero fill, Janssen AR and similarity copy on held-out material."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from daemon.console import CliContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer clips and lengths (a smoke run)")
    parser.add_argument("--music-clips", type=int, default=4)
    parser.add_argument("--speech-clips", type=int, default=3)
    parser.add_argument("--gaps-per-clip", type=int, default=2)
    parser.add_argument("--lengths", type=_lengths, default=None, metavar="MS,MS,...",
                        help="gap lengths in ms (default: 10,25,50,100,200,400,800)")
    parser.add_argument("--no-perceptual", action="store_true", help="skip ViSQOL/PESQ (they are slow)")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    parser.add_argument("--detection-clips", type=int, default=6,
                        help="clips with 10 simulated dropouts each per detection row (cycling the held-out clips)")
    parser.add_argument("--detection-only", action="store_true",
                        help="only dropout detection and speed (no gap filling per length): seconds, not minutes")


def _lengths(text: str) -> tuple[int, ...]:
    """``"100,200"`` -> ``(100, 200)``; a clear argparse error for anything else."""
    try:
        lengths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected gap lengths in ms like 100,200,400, got {text!r}") from None
    if not lengths or min(lengths) <= 0:
        raise argparse.ArgumentTypeError(f"gap lengths must be positive, got {text!r}")
    return lengths


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import torch

    from models.errors import ModelError
    from models.inpaint.bench import BenchConfig, markdown_tables, run_bench
    from models.registry import load_model

    torch.set_num_threads(2)
    config = BenchConfig(music_clips=args.music_clips, speech_clips=args.speech_clips,
                         gaps_per_clip=args.gaps_per_clip, perceptual=not args.no_perceptual,
                         detection_clips=args.detection_clips)
    if args.lengths is not None:
        config = dataclasses.replace(config, lengths_ms=args.lengths)
    if args.detection_only:
        config = dataclasses.replace(config, lengths_ms=(), perceptual=False)
    if args.quick:
        config = dataclasses.replace(config, lengths_ms=(25, 200), music_clips=1, speech_clips=1, gaps_per_clip=1,
                                     detection_clips=1, perceptual=False)
    try:
        model = load_model("inpaint-gapnet", device="cpu")
    except ModelError as exc:
        ctx.info(f"[yellow]no trained gap model ({exc}); 'reamend' column falls back to similarity/Janssen[/]")
        model = None
    with ctx.progress("bench inpaint") as progress:
        result = run_bench(config, model=model, progress=progress)
    text = markdown_tables(result)
    if args.markdown is not None:
        from models.atomic import write_text_atomic

        write_text_atomic(args.markdown, text)
    ctx.emit(json.loads(json.dumps(dataclasses.asdict(result), default=float)), lambda: ctx.out.print(text))
    return 0
