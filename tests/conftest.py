"""Shared fixtures: every test runs with its own REAMEND_HOME and user presets folder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.daemon_support.harness"]  # the start_daemon fixture


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("reamend-home")
    monkeypatch.setenv("REAMEND_HOME", str(home))
    monkeypatch.setenv("REAMEND_USER_PRESETS_DIR", str(home / "user-presets"))
    monkeypatch.setenv("REAMEND_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("REAMEND_DEVICE", "cpu")
    return home
