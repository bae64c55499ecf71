"""``reamend train JOB``: reproduce a shipped model from synthesized data (resumable)."""

from __future__ import annotations

from typing import Any

from daemon.commands._dispatch import register_verb


def register(subparsers: Any) -> None:
    register_verb(subparsers, "train", "train a model (resumes from its last checkpoint)")
