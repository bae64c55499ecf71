"""Rendering an edit list: exact lengths, click-free joins, click repair, gains, rippled markers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.clean.edits import Cut, EditEvent, EditList, map_time
from models.clean.render import interpolate_gap, locate_click, render_track

SR = 48000


def _write(path: Path, samples: np.ndarray, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), samples, SR, subtype=subtype)
    return path


def _sine(seconds: float, freq: float = 220.0, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    mono = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([mono * (1 - 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)


def test_cuts_remove_exactly_their_length_without_clicks(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.wav", _sine(4.0))
    edits = EditList(sample_rate=SR, duration_s=4.0, events=(), cuts=(Cut(0.5031, 1.2), Cut(2.0, 2.7777)))
    result = render_track(source, tmp_path / "out.wav", edits)
    out, sr = sf.read(str(result.path), always_2d=True)
    assert sr == SR and out.shape[1] == 2
    removed = sum(round(c.end_s * SR) - round(c.start_s * SR) for c in edits.cuts)
    assert out.shape[0] == int(4.0 * SR) - removed
    step = np.max(np.abs(np.diff(out[:, 0])))
    assert step < 1.6 * np.max(np.abs(np.diff(_sine(4.0)[:, 0])))  # no discontinuity at the joins


def test_marker_position_follows_map_time(tmp_path: Path) -> None:
    audio = np.zeros((3 * SR, 1), dtype=np.float32)
    marker_s = 2.5
    audio[int(marker_s * SR)] = 0.9
    source = _write(tmp_path / "in.wav", audio)
    edits = EditList(sample_rate=SR, duration_s=3.0, events=(), cuts=(Cut(0.4, 0.9), Cut(1.3, 1.55)))
    render_track(source, tmp_path / "out.wav", edits)
    out, _ = sf.read(str(tmp_path / "out.wav"), always_2d=True)
    assert int(np.argmax(np.abs(out[:, 0]))) / SR == pytest.approx(map_time(marker_s, edits.cuts), abs=1 / SR)


def test_click_is_repaired_by_interpolation(tmp_path: Path) -> None:
    clean = _sine(1.0, freq=300.0, channels=1)
    clicked = clean.copy()
    at = int(0.5 * SR)
    clicked[at:at + 40, 0] += 0.8 * np.hanning(40)[::-1] * np.sign(np.sin(np.arange(40) * 2.1))
    source = _write(tmp_path / "in.wav", clicked)
    event = EditEvent(0.495, 0.51, "click", "repair", track=0)
    edits = EditList(sample_rate=SR, duration_s=1.0, events=(event,), cuts=())
    result = render_track(source, tmp_path / "out.wav", edits)
    out, _ = sf.read(str(result.path), always_2d=True)
    assert result.repaired == 1
    region = slice(at - 50, at + 100)
    error_before = np.max(np.abs(clicked[region, 0] - clean[region, 0]))
    assert np.max(np.abs(out[region, 0] - clean[region, 0])) < 0.1 * error_before
    assert np.array_equal(out[: at - 500, 0], clicked[: at - 500, 0].astype(np.float64))


def test_attenuation_applies_on_its_track_only(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.wav", _sine(2.0, channels=1))
    event = EditEvent(0.5, 1.5, "breath", "attenuate", track=1, gain_db=-20.0)
    edits = EditList(sample_rate=SR, duration_s=2.0, events=(event,), cuts=())
    other = render_track(source, tmp_path / "track0.wav", edits, track=0)
    mine = render_track(source, tmp_path / "track1.wav", edits, track=1)
    untouched, _ = sf.read(str(other.path))
    ducked, _ = sf.read(str(mine.path))
    middle = slice(int(0.7 * SR), int(1.3 * SR))
    ratio = np.sqrt(np.mean(ducked[middle] ** 2)) / np.sqrt(np.mean(untouched[middle] ** 2))
    assert ratio == pytest.approx(0.1, rel=0.02)
    assert np.allclose(untouched, _sine(2.0, channels=1)[:, 0], atol=1e-6)


def test_interpolation_continues_a_sinusoid() -> None:
    t = np.arange(2000) / SR
    wave = np.sin(2 * np.pi * 500 * t)
    filled = interpolate_gap(wave[:900], wave[1000:], 100)
    assert np.max(np.abs(filled - wave[900:1000])) < 0.05


def test_locate_click_finds_the_burst() -> None:
    window = 0.001 * np.random.default_rng(0).standard_normal(1000)
    window[600:610] += 0.5
    found = locate_click(window, max_len=200)
    assert found is not None and found[0] <= 600 and found[1] >= 610
