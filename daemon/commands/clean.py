"""``reamend clean``: shorten pauses, tame breaths, repair clicks and cut bumps in speech recordings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.console import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "clean", help="podcast cleanup: pauses, breaths, clicks, bumps (never cuts a word)",
        description="Writes DIR/<stem>.cleaned.<ext>, DIR/<stem>.edits.json, .edits.csv and .labels.txt "
                    "(Audacity) for every input.")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="audio file(s)")
    parser.add_argument("--multitrack", action="store_true",
                        help="inputs are one session's mics: cut time only where every track is removable")
    parser.add_argument("--preset", default=None, help="preset name or .toml path (default: podcast-gentle)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: beside the first input)")
    parser.add_argument("--report", action="store_true", help="also write <stem>.report.png")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.commands._jobcli import execute, existing_inputs
    from daemon.jobs.base import JobSpec

    inputs = existing_inputs(list(args.inputs))
    out_dir = (args.out or inputs[0].parent).resolve()
    spec = JobSpec(kind="clean", inputs=inputs, out_dir=out_dir, preset=args.preset,
                   options={"multitrack": args.multitrack, "report": args.report})
    execute(spec, ctx, title="clean")
    return 0
