"""The ``reamend`` command line: thin, lazy, with documented exit codes.

Every module in ``daemon/commands/`` defines ``register(subparsers)`` and is
found automatically. Heavy imports (torch, models) happen inside commands, so
``reamend --help`` stays instant.

Exit codes: 0 success; 1 a job failed or an internal error; 2 usage error or
invalid input; 3 unreadable/unsupported audio file; 4 invalid preset;
5 model weights missing or corrupt; 6 daemon or REAPER unreachable;
130 interrupted or cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from models.errors import ReamendError

log = logging.getLogger("reamend")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def version() -> str:
    try:
        return metadata.version("reamend")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reamend", description="ML audio restoration: inpaint, clean, transcribe.")
    parser.add_argument("--version", action="version", version=f"reamend {version()}")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or info lines")
    parser.add_argument("--verbose", "-v", action="store_true", help="log progress details (training) to stderr")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default: $REAMEND_CONFIG or the user config")
    parser.add_argument("--home", type=Path, help="root of reamend's own files (overrides REAMEND_HOME)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where models run")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    import daemon.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"daemon.commands.{info.name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from daemon.console import CliContext
    from daemon.logging_setup import configure_cli_logging
    from daemon.settings import load_settings

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except _UsageError as exc:
        sys.stderr.write(f"{exc}\n(run 'reamend --help' for usage)\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    debug = bool(args.debug)
    try:
        settings = load_settings(args.config, home=args.home, device=args.device)
        configure_cli_logging(debug=debug, verbose=args.verbose)
        ctx = CliContext(settings=settings, json_mode=args.json, debug=debug, quiet=args.quiet)
        code: int = args.func(args, ctx)
        return code
    except ReamendError as exc:
        _report(exc, debug, json_mode=args.json)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n")
        return EXIT_FAILED


def _report(exc: ReamendError, debug: bool, *, json_mode: bool) -> None:
    if debug:
        traceback.print_exc()
    if json_mode:
        import json

        sys.stdout.write(json.dumps({"error": str(exc), "type": type(exc).__name__,
                                     "exit_code": exc.exit_code}) + "\n")
    sys.stderr.write(f"error: {exc}\n")


if __name__ == "__main__":
    sys.exit(main())
