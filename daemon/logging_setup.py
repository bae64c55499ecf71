"""Logging is configured here, once, at the program's edges (CLI or daemon entry point)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from rich.logging import RichHandler

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_cli_logging(*, debug: bool, verbose: bool = False) -> None:
    """Warnings to stderr through rich; ``--verbose`` adds INFO (training logs), ``--debug`` everything."""
    root = logging.getLogger()
    root.handlers[:] = [RichHandler(show_path=False, rich_tracebacks=debug, markup=False)]
    root.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)


def configure_daemon_logging(log_dir: Path, level: str, *, to_terminal: bool) -> Path:
    """Rotating file under ``REAMEND_HOME/logs`` plus the terminal when in the foreground."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "daemon.log"
    file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=5 * 1024 * 1024, backupCount=5)
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    if to_terminal:
        handlers.append(RichHandler(show_path=False, markup=False))
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    return log_file
