"""``reamend bench JOB``: measure a job against its baselines on held-out material."""

from __future__ import annotations

from typing import Any

from daemon.commands._dispatch import register_verb


def register(subparsers: Any) -> None:
    register_verb(subparsers, "bench", "benchmark a job against baselines on held-out material")
