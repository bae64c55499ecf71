"""``reamend inpaint``: fill gaps and dropouts in a recording."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inpaint", help="fill gaps and dropouts (given or detected) in an audio file",
        description="Fill gaps 5 ms to 1 s long. Outside the gaps the output is bit-identical to the input.")
    parser.add_argument("input", type=Path, metavar="IN", help="audio file (WAV, FLAC, AIFF, OGG, MP3)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--gaps", type=Path, metavar="GAPS.json",
                        help='JSON list of {"start_s": ..., "end_s": ...} (or a .gaps.json we wrote)')
    source.add_argument("--gap", action="append", metavar="START-END",
                        help="a gap in seconds, e.g. 12.5-12.9 (repeatable)")
    source.add_argument("--detect", action="store_true", help="find digital and tape dropouts and fill them")
    parser.add_argument("--preset", help="preset name or .toml path (see 'reamend presets list')")
    parser.add_argument("--out", type=Path, metavar="OUT",
                        help="output folder, or an audio file name (default: beside the input)")
    parser.add_argument("--report", action="store_true", help="also draw a PNG before/after report")
    parser.add_argument("--method", choices=("auto", "janssen", "model", "similarity", "zeros"),
                        help="override the preset's fill method")
    parser.add_argument("--no-fill", action="store_true", help="with --detect: only report what was found")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.commands._jobcli import execute, existing_inputs
    from daemon.jobs.base import JobSpec
    from models.audio_io import FORMAT_BY_EXTENSION
    from models.errors import UserInputError
    from models.inpaint.gaps import gaps_from_json, parse_gap_range

    (source,) = existing_inputs([args.input])
    options: dict[str, Any] = {"report": bool(args.report)}
    if args.gaps is not None:
        try:
            data = json.loads(args.gaps.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserInputError(f"{args.gaps}: cannot read the gap list ({exc})") from exc
        options["gaps"] = [{"start_s": s, "end_s": e} for s, e in gaps_from_json(data)]
    elif args.gap:
        options["gaps"] = [dict(zip(("start_s", "end_s"), parse_gap_range(text), strict=True)) for text in args.gap]
    if args.detect:
        options["detect"] = True
    if args.no_fill:
        if not args.detect:
            raise UserInputError("--no-fill only makes sense with --detect")
        options["fill"] = False
    if args.method:
        options["method"] = args.method
    out_dir = source.parent
    if args.out is not None:
        if args.out.suffix.lower() in FORMAT_BY_EXTENSION:
            options["out_file"] = str(args.out.resolve())
            out_dir = args.out.resolve().parent
        else:
            out_dir = args.out.resolve()
    spec = JobSpec(kind="inpaint", inputs=(source,), out_dir=out_dir, preset=args.preset, options=options)
    outcome = execute(spec, ctx, title=f"inpaint {source.name}")
    if not ctx.json_mode and not ctx.quiet:
        _print_gaps(outcome.paths("gaps"), ctx)
    return 0


def _print_gaps(paths: list[Path], ctx: CliContext) -> None:
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [(f"{g['start_s']:.3f}", f"{g['end_s']:.3f}", f"{g['duration_ms']:.1f}", g["kind"],
                 f"{g['confidence']:.2f}", "all" if g["channel"] is None else g["channel"], g.get("method") or "-")
                for g in data["gaps"][:200]]
        title = f"{len(data['gaps'])} gap(s)" + (" (first 200 shown)" if len(data["gaps"]) > 200 else "")
        ctx.out.print(make_table(title, ("start s", "end s", "ms", "kind", "confidence", "channel", "method"), rows))
