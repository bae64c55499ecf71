"""`reamend train transcribe` hands its options to the training loop (the loop itself is exercised by the
committed run's resumable state, not here: one step needs the rendered shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _captured_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *extra: str) -> Any:
    import models.transcribe.train as train_module
    from daemon.cli import main

    seen: list[Any] = []

    def fake_train(config: Any) -> dict[str, Any]:
        seen.append(config)
        return {"step": 0}

    monkeypatch.setattr(train_module, "train", fake_train)
    assert main(["train", "transcribe", "--cache-dir", str(tmp_path / "cache"), "--checkpoint",
                 str(tmp_path / "state.pt"), "--weights-out", str(tmp_path / "w.pt"), *extra]) == 0
    assert len(seen) == 1
    return seen[0]


def test_threads_default_to_one_and_reach_the_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _captured_config(monkeypatch, tmp_path).threads == 1
    config = _captured_config(monkeypatch, tmp_path, "--threads", "2", "--channels", "16", "28", "28",
                              "--max-steps", "20000")
    assert config.threads == 2 and config.channels == (16, 28, 28) and config.max_steps == 20000
    assert not (tmp_path / "state.pt").exists()  # nothing trained, nothing written
