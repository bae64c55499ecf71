"""Progress reporting and cooperative cancellation for long jobs.

Jobs take an optional ``progress`` callable and ``cancel`` token instead of
printing or polling globals, so the CLI (rich bar), the daemon (job table) and
tests can all observe the same work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from models.errors import CancelledError

#: ``progress(fraction, message)``: fraction in [0, 1]; message is short and human.
ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """Default progress sink: discard."""


class CancelToken:
    """A thread-safe flag a job checks between chunks of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("cancelled")


def check_cancel(cancel: CancelToken | None) -> None:
    """Raise :class:`CancelledError` if ``cancel`` is set; accept ``None`` for convenience."""
    if cancel is not None:
        cancel.raise_if_cancelled()


def scaled(progress: ProgressFn | None, start: float, end: float) -> ProgressFn:
    """Map a sub-task's 0..1 progress into ``start..end`` of the parent's."""
    sink = progress or no_progress
    span = end - start

    def report(fraction: float, message: str) -> None:
        sink(start + span * min(max(fraction, 0.0), 1.0), message)

    return report
