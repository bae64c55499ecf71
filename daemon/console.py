"""Terminal output for the CLI: rich tables and progress bars, or JSON for scripts.

Only the CLI uses this module; the library never prints.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from daemon.settings import Settings
from models.progress import ProgressFn


@dataclass
class CliContext:
    settings: Settings
    json_mode: bool = False
    debug: bool = False
    quiet: bool = False
    out: Console = field(default_factory=lambda: Console(highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    def emit(self, data: Any, render: Callable[[], None] | None = None) -> None:
        """Print ``data`` as JSON in ``--json`` mode, else call ``render`` (or pretty-print)."""
        if self.json_mode:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render()
        else:
            self.out.print(data)

    def info(self, message: str) -> None:
        if not self.json_mode and not self.quiet:
            self.err.print(message)

    @contextlib.contextmanager
    def progress(self, description: str) -> Iterator[ProgressFn]:
        """A rich progress bar on stderr (hidden with --json/--quiet); yields a ProgressFn."""
        if self.json_mode or self.quiet:
            yield lambda fraction, message: None
            return
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                   TextColumn("{task.fields[stage]}"), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=self.err, transient=False) as bar:
            task = bar.add_task(description, total=1.0, stage="")

            def report(fraction: float, message: str) -> None:
                bar.update(task, completed=min(max(fraction, 0.0), 1.0), stage=message)

            yield report
            bar.update(task, completed=1.0)


def make_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold cyan")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    return table


def mapping_table(title: str | None, data: Mapping[str, Any]) -> Table:
    return make_table(title, ("field", "value"), [(k, v) for k, v in data.items()])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, bool):
        return "[green]yes[/]" if value else "[red]no[/]"
    return str(value)
