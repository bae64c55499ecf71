"""Sub-commands per job for ``reamend train`` and ``reamend bench``.

Each job contributes ``daemon/commands/_<verb>_<job>.py`` with
``add_arguments(parser)`` and ``run(args, ctx) -> int``.
"""

from __future__ import annotations

import importlib
from typing import Any

JOBS = ("clean", "inpaint", "transcribe")


def register_verb(subparsers: Any, verb: str, help_text: str) -> None:
    parser = subparsers.add_parser(verb, help=help_text)
    jobs = parser.add_subparsers(dest=f"{verb}_job", metavar="JOB", required=True, parser_class=type(parser))
    for job in JOBS:
        module = importlib.import_module(f"daemon.commands._{verb}_{job}")
        job_parser = jobs.add_parser(job, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(job_parser)
        job_parser.set_defaults(func=module.run)
