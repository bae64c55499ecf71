"""Settings precedence: defaults < config file < REAMEND_* environment < CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.settings import load_settings
from models.errors import UserInputError


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REAMEND_HOME", raising=False)
    monkeypatch.delenv("REAMEND_DEVICE", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(f'home = "{tmp_path / "from-file"}"\ndevice = "cuda"\nworkers = 3\n')
    settings = load_settings(config)
    assert settings.home == tmp_path / "from-file" and settings.device == "cuda" and settings.workers == 3
    monkeypatch.setenv("REAMEND_DEVICE", "mps")
    assert load_settings(config).device == "mps"
    assert load_settings(config, device="cpu").device == "cpu"
    assert load_settings(config, device=None).device == "mps"  # flag not given


def test_home_derives_every_private_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REAMEND_HOME", str(tmp_path))
    settings = load_settings()
    for path in (settings.hot_dir, settings.db_path, settings.log_dir, settings.api_file, settings.cache_dir):
        assert tmp_path in path.parents


def test_bad_values_are_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REAMEND_DEVICE", "tpu")
    with pytest.raises(UserInputError, match="device"):
        load_settings()
    monkeypatch.delenv("REAMEND_DEVICE")
    config = tmp_path / "c.toml"
    config.write_text("no_such_setting = 1\n")
    with pytest.raises(UserInputError, match="no_such_setting"):
        load_settings(config)
    with pytest.raises(UserInputError, match="not found"):
        load_settings(tmp_path / "missing.toml")
