"""The clean presets a producer expects exist, validate and mean what their names say."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.jobs.clean_preset import PresetSettings
from daemon.presets import apply_overrides, find_preset, list_presets, load_preset_file
from models.errors import PresetError

EXPECTED = ("podcast-gentle", "podcast-tight", "podcast-review", "podcast-breaths-only", "audiobook")


def test_every_clean_preset_validates_and_converts_to_plan_settings() -> None:
    names = {p.name for p in list_presets() if p.job == "clean"}
    assert set(EXPECTED) <= names
    for name in EXPECTED:
        settings = find_preset(name, job="clean").settings
        assert isinstance(settings, PresetSettings)
        plan = settings.plan_settings()
        assert plan.target_pause_ms <= plan.max_pause_ms


def test_presets_differ_where_their_descriptions_say() -> None:
    def settings(name: str) -> PresetSettings:
        value = find_preset(name, job="clean").settings
        assert isinstance(value, PresetSettings)
        return value

    gentle, tight = settings("podcast-gentle"), settings("podcast-tight")
    assert gentle.breath_mode == "attenuate" and tight.breath_mode == "remove"
    assert tight.max_pause_ms < gentle.max_pause_ms and tight.target_pause_ms < gentle.target_pause_ms
    review = settings("podcast-review")
    assert {review.breath_mode, review.click_mode, review.bump_mode, review.noise_mode} == {"keep"}


def test_bad_fields_and_values_are_named(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('job = "clean"\n[settings]\nbreath_mode = "delete"\nmax_pause_sec = 3\n')
    with pytest.raises(PresetError) as caught:
        load_preset_file(path)
    message = str(caught.value)
    assert "breath_mode" in message and "'attenuate'" in message
    assert "max_pause_sec" in message and "max_pause_ms" in message
    base = find_preset("podcast-gentle", job="clean").settings
    with pytest.raises(PresetError, match="speech_threshold"):
        apply_overrides(base, {"speech_threshold": 2.0})
