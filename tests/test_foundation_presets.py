"""Preset validation: messages name the file, the field, the bad value and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

import daemon.presets as presets
from models.errors import PresetError


class _ToySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    breath_mode: Literal["keep", "attenuate", "remove"] = "attenuate"
    breath_gain_db: float = Field(default=-15.0, ge=-60.0, le=0.0)
    max_pause_ms: int = Field(default=700, gt=0)


@pytest.fixture
def toy_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presets, "settings_model", lambda job: _ToySettings)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_valid_preset_loads_with_defaults(tmp_path: Path, toy_job: None) -> None:
    path = _write(tmp_path, "soft", 'job = "clean"\ndescription = "d"\n[settings]\nmax_pause_ms = 500\n')
    preset = presets.load_preset_file(path)
    assert preset.name == "soft" and preset.job == "clean"
    assert preset.settings.model_dump() == {"breath_mode": "attenuate", "breath_gain_db": -15.0, "max_pause_ms": 500}


def test_literal_error_lists_allowed_values(tmp_path: Path, toy_job: None) -> None:
    path = _write(tmp_path, "bad", 'job = "clean"\n[settings]\nbreath_mode = "delete"\n')
    with pytest.raises(PresetError) as info:
        presets.load_preset_file(path)
    message = str(info.value)
    assert str(path) in message and "'breath_mode'" in message and "'delete'" in message
    assert "'keep', 'attenuate', 'remove'" in message


def test_range_error_names_bounds(tmp_path: Path, toy_job: None) -> None:
    path = _write(tmp_path, "loud", 'job = "clean"\n[settings]\nbreath_gain_db = 6\n')
    with pytest.raises(PresetError, match=r"breath_gain_db.*6.*ge -60.0, le 0.0"):
        presets.load_preset_file(path)


def test_unknown_field_lists_allowed_fields(tmp_path: Path, toy_job: None) -> None:
    path = _write(tmp_path, "typo", 'job = "clean"\n[settings]\nmax_pause = 500\n')
    expected = "'max_pause': unknown field; allowed fields: breath_gain_db, breath_mode, max_pause_ms"
    with pytest.raises(PresetError, match=expected):
        presets.load_preset_file(path)


def test_unknown_job_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match=r"'job' = 'dance'.*allowed values: clean, inpaint, transcribe"):
        presets.load_preset_file(_write(tmp_path, "j", 'job = "dance"\n'))
    with pytest.raises(PresetError, match="not valid TOML"):
        presets.load_preset_file(_write(tmp_path, "t", "job = \n"))


def test_user_presets_shadow_builtins_and_names_resolve(tmp_path: Path, toy_job: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = tmp_path / "builtin"
    user = tmp_path / "user"
    monkeypatch.setattr(presets, "BUILTIN_PRESETS_DIR", builtin)
    _write(builtin, "std", 'job = "clean"\ndescription = "built-in"\n')
    _write(builtin, "other", 'job = "inpaint"\n')
    _write(user, "std", 'job = "clean"\ndescription = "mine"\n')
    listed = {p.name: p for p in presets.list_presets(user)}
    assert listed["std"].description == "mine" and not listed["std"].builtin and listed["other"].builtin
    assert presets.find_preset("std", user, job="clean").description == "mine"
    with pytest.raises(PresetError, match="is for job 'inpaint', not 'clean'"):
        presets.find_preset("other", user, job="clean")
    with pytest.raises(PresetError, match="no preset named 'nope'; known presets: other, std"):
        presets.find_preset("nope", user)


def test_overrides_are_validated(toy_job: None) -> None:
    base = _ToySettings()
    assert presets.apply_overrides(base, {"max_pause_ms": 300}).model_dump()["max_pause_ms"] == 300
    with pytest.raises(PresetError, match="max_pause_ms"):
        presets.apply_overrides(base, {"max_pause_ms": -1}, source="--max-pause-ms")


def test_every_shipped_preset_is_valid() -> None:
    shipped = sorted(presets.BUILTIN_PRESETS_DIR.glob("*.toml"))
    for path in shipped:
        preset = presets.load_preset_file(path, builtin=True)
        assert preset.description, f"{path.name} needs a description"


def test_job_settings_layers_options_over_the_preset(tmp_path: Path, toy_job: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presets, "BUILTIN_PRESETS_DIR", tmp_path)
    _write(tmp_path, "calm", 'job = "clean"\n[settings]\nmax_pause_ms = 900\nbreath_mode = "keep"\n')
    settings = presets.job_settings(_ToySettings, "clean", "calm",
                                    {"max_pause_ms": 400, "breath_mode": None, "report": True},
                                    job_options={"report"}, user_dir=None)
    assert settings.max_pause_ms == 400  # the request's option wins
    assert settings.breath_mode == "keep"  # None means "not given": the preset's value stays
    assert presets.job_settings(_ToySettings, "clean", None, {}, job_options=(), user_dir=None) == _ToySettings()
    with pytest.raises(PresetError, match="report"):
        presets.job_settings(_ToySettings, "clean", "calm", {"report": True}, job_options=(), user_dir=None)
