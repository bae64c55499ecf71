"""Windowed processing of long files gives what one pass over the whole file gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daemon.jobs import inpaint_windows as windows
from models.audio_io import audio_info
from models.inpaint.detect import DetectParams, detect_dropouts
from models.inpaint.fill import FillParams, inpaint
from models.inpaint.gaps import Gap

SR = 16000


def music(seconds: float, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f * t + k) / (k + 1) for k, f in enumerate((220.0, 277.0, 330.0, 440.0)))
    x = 0.2 * x * (1.0 + 0.4 * np.sin(2 * np.pi * 0.3 * t))
    noise = 0.003 * np.random.default_rng(1).standard_normal((len(t), channels))
    return np.stack([x] * channels, axis=1) + noise


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows of a few seconds, so a short test file spans many of them."""
    monkeypatch.setattr(windows, "CONTEXT_S", 1.0)
    monkeypatch.setattr(windows, "MAX_RUN_S", 2.0)
    monkeypatch.setattr(windows, "DETECT_BLOCK_S", 4.0)
    monkeypatch.setattr(windows, "DETECT_OVERLAP_S", 1.0)


@pytest.mark.usefixtures("small_windows")
def test_windowed_fill_equals_one_pass(tmp_path: Path) -> None:
    audio = music(12.0)
    source = tmp_path / "long.wav"
    sf.write(source, audio, SR, subtype="PCM_24")
    stored, _ = sf.read(source, dtype="float64", always_2d=True)
    # Runs of nearby gaps, a gap on one channel, gaps in different windows, one near the end.
    starts_s = (0.5, 0.62, 0.9, 2.95, 3.1, 6.0, 9.5, 11.9)
    gaps = [Gap(int(s * SR), int(s * SR) + 240, channel=1 if s == 3.1 else None) for s in starts_s]
    params = FillParams(method="janssen")
    whole = inpaint(stored, SR, gaps, params=params).samples
    info = audio_info(source)
    filled = windows.fill_in_windows(source, info, gaps, params=params, model=None,
                                     progress=lambda f, m: None, cancel=None)
    assert [f.gap for f in filled.fills] == [g for g in gaps for _ in (range(2) if g.channel is None else range(1))]
    out = tmp_path / "out.wav"
    windows.write_filled(source, out, info, filled.patches, subtype="FLOAT", int_bits=None)
    result, _ = sf.read(out, dtype="float64", always_2d=True)
    np.testing.assert_allclose(result, np.clip(whole, -1, 1), atol=1e-6)
    untouched = np.ones(len(audio), dtype=bool)
    for gap in gaps:
        untouched[gap.start : gap.end] = False
    assert np.array_equal(result[untouched], stored[untouched].astype(np.float32))


@pytest.mark.usefixtures("small_windows")
def test_detection_in_blocks_finds_dropouts_on_block_edges(tmp_path: Path) -> None:
    audio = music(10.0)
    for start_s in (3.98, 6.5):  # the first one straddles the 4 s block edge
        audio[int(start_s * SR) : int((start_s + 0.04) * SR)] = 0.0
    source = tmp_path / "dropouts.wav"
    sf.write(source, audio, SR, subtype="PCM_16")
    params = DetectParams(detect_tape=False)
    stored, _ = sf.read(source, dtype="float64", always_2d=True)
    blocked = windows.detect_in_blocks(source, audio_info(source), params, lambda f, m: None)
    whole = detect_dropouts(stored, SR, params=params)
    assert [(g.start, g.end, g.channel) for g in blocked] == [(g.start, g.end, g.channel) for g in whole]
    assert len(blocked) == 2 and abs(blocked[0].start - int(3.98 * SR)) < 16


def test_overview_report_of_a_long_file_is_resampled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows, "REPORT_MAX_SAMPLES", 4 * SR)
    source = tmp_path / "long.wav"
    sf.write(source, music(20.0, channels=1), SR, subtype="PCM_16")
    gaps = [Gap(2 * SR, 2 * SR + 800), Gap(15 * SR, 15 * SR + 800)]
    patch = windows.Patch(gaps[0], np.zeros((800, 1)))
    before, after, rate, view = windows.report_signals(source, audio_info(source), [patch], gaps)
    assert rate == 4 * SR // 20 and len(before) == len(after) == 20 * rate
    assert view[1].start == 15 * rate and view[1].end > view[1].start
    assert np.abs(after[view[0].start + 20 : view[0].end - 20]).max() < 0.05 < np.abs(before).max()


def test_patch_index_finds_exactly_the_patches_touching_a_range() -> None:
    rng = np.random.default_rng(3)
    patches = [windows.Patch(Gap(int(s), int(s) + int(n)), np.zeros((int(n), 1)))
               for s, n in zip(rng.integers(0, 10_000, 200), rng.integers(1, 2_000, 200), strict=True)]
    index = windows._PatchIndex(patches)
    for lo in range(0, 12_000, 137):
        hi = lo + int(rng.integers(1, 700))
        expected = [p for p in sorted(patches, key=lambda p: p.gap.start) if p.gap.start < hi and p.gap.end > lo]
        assert index.touching(lo, hi) == expected
