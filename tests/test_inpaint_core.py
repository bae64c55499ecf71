"""Inpaint library: gap lists, Janssen AR, similarity copy, blending, fill orchestration, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from models.ar import extrapolate, janssen_interpolate
from models.errors import UserInputError
from models.inpaint.blend import blend_into_gap, border_continuation, continue_side, equal_gain_fade, equal_power_fade
from models.inpaint.fill import FillParams, inpaint
from models.inpaint.gaps import Gap, gaps_from_json, merge_gaps, parse_gap_range, sanitize_gaps
from models.inpaint.metrics import lsd_db, snr_db
from models.inpaint.similarity import find_similar
from models.inpaint.stft import StftGrid, istft, stft

SR = 16000


def tones(seconds: float = 2.0, *, seed: int = 0) -> np.ndarray:
    """Decaying harmonic tones plus a little noise: predictable, like a held piano chord."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / (k + 1) for k, f in enumerate((220, 330, 440, 660)))
    return 0.3 * x * np.exp(-0.3 * t) + 1e-4 * rng.standard_normal(len(t))


def test_parse_and_sanitize_gap_lists() -> None:
    assert parse_gap_range("1.5-2.25") == (1.5, 2.25)
    with pytest.raises(UserInputError):
        parse_gap_range("12")
    with pytest.raises(UserInputError):
        sanitize_gaps([(2.0, 1.0)], sr=SR, frames=SR * 3)
    assert gaps_from_json({"gaps": [{"start_s": 1, "end_s": 2}]}) == [(1.0, 2.0)]
    result = sanitize_gaps([(0.5, 0.6), (0.55, 0.7), (-0.1, 0.05), (2.9, 3.5), (10.0, 11.0)], sr=SR, frames=SR * 3)
    assert [(g.start, g.end) for g in result.gaps] == [(0, 800), (8000, 11200), (46400, 48000)]
    text = " ".join(result.messages)
    assert "outside the file" in text and "clipped" in text and "merged" in text


def test_merge_keeps_channels_apart() -> None:
    merged = merge_gaps([Gap(0, 10, channel=0), Gap(5, 20, channel=1), Gap(8, 30, channel=0)])
    assert sorted((g.start, g.end, g.channel) for g in merged) == [(0, 30, 0), (5, 20, 1)]


def test_janssen_recovers_short_gaps_from_both_sides() -> None:
    x = tones()
    start = SR
    for ms, min_snr in ((10, 25.0), (50, 15.0)):
        end = start + SR * ms // 1000
        filled = janssen_interpolate(x, start, end)
        assert snr_db(x[start:end], filled) > min_snr


def test_janssen_works_at_file_edges_and_next_to_other_gaps() -> None:
    x = tones()
    head = janssen_interpolate(x, 0, 160)
    assert head.shape == (160,) and np.all(np.isfinite(head))
    known = np.ones(len(x), dtype=bool)
    known[SR - 300 : SR - 100] = False
    filled = janssen_interpolate(x, SR, SR + 160, known=known)
    assert snr_db(x[SR : SR + 160], filled) > 10


def test_extrapolation_continues_the_waveform() -> None:
    x = tones()
    ahead = extrapolate(x[:SR], 64)
    assert np.max(np.abs(ahead - x[SR : SR + 64])) < 0.05 * np.max(np.abs(x))
    behind = extrapolate(x[SR:], 64, backward=True)
    assert np.max(np.abs(behind - x[SR - 64 : SR])) < 0.05 * np.max(np.abs(x))


def test_equal_power_fade_and_blend_stay_inside_the_gap() -> None:
    out_gain, in_gain = equal_power_fade(32)
    np.testing.assert_allclose(out_gain**2 + in_gain**2, 1.0)
    x = tones()
    blended = blend_into_gap(x, SR, SR + 800, np.zeros(800), fade=64, left_known=SR, right_known=SR)
    assert blended.shape == (800,)
    assert abs(blended[0] - x[SR]) < 0.05 and np.all(blended[64:736] == 0.0)


def test_equal_gain_border_fade_starts_from_the_continuation_and_sums_to_one() -> None:
    out_gain, in_gain = equal_gain_fade(32)
    np.testing.assert_allclose(out_gain + in_gain, 1.0)
    x = tones()
    border = border_continuation(x, SR, SR + 800, fade=64, left_known=SR, right_known=SR, equal_gain=True)
    assert border is not None
    np.testing.assert_allclose(border.weight[:64], equal_gain_fade(64)[1])
    filled = border.apply(np.zeros(800))
    assert abs(filled[0] - x[SR]) < 0.05 and abs(filled[-1] - x[SR + 799]) < 0.05


def test_border_continuation_picks_the_ar_model_that_predicts_the_context_best() -> None:
    """A held chord of many close partials: a short low-order AR lets it decay, the long one holds it."""
    sr = 44100
    t = np.arange(sr) / sr
    rng = np.random.default_rng(0)
    partials = [110 * n * np.sqrt(1 + 0.0004 * n * n) for n in range(1, 25)]
    chord = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / (k + 1) for k, f in enumerate(partials))
    x = chord * np.exp(-t) + 1e-3 * rng.standard_normal(sr)
    past, truth = x[:20000], x[20000:21100]

    def error_db(choices: tuple[tuple[int, int], ...]) -> float:
        guess = continue_side(past, len(truth), choices, margin=0.5)
        return float(10 * np.log10(np.sum((guess - truth) ** 2) / np.sum(truth**2)))

    short, long = error_db(((4096, 256),)), error_db(((8192, 768),))
    assert long < short - 10
    assert error_db(((4096, 256), (8192, 768))) == pytest.approx(long)


def test_similarity_finds_the_repeated_passage() -> None:
    rng = np.random.default_rng(3)
    motif = rng.standard_normal(SR) * np.exp(-np.linspace(0, 4, SR))
    x = np.concatenate([0.01 * rng.standard_normal(SR), motif, 0.01 * rng.standard_normal(SR // 2), motif * 0.5,
                        0.01 * rng.standard_normal(SR)])
    start = int(2.5 * SR) + 4000
    match = find_similar(x, SR, start, start + 3000)
    assert match is not None and abs(match.source_start - (SR + 4000)) <= 2
    assert match.gain == pytest.approx(0.5, rel=0.05)


def test_inpaint_never_touches_samples_outside_gaps_and_handles_channels() -> None:
    x = np.stack([tones(seed=1), tones(seed=2)], axis=1)
    gaps = [Gap(4000, 4200), Gap(12000, 12400, channel=1)]
    result = inpaint(x, SR, gaps, params=FillParams(method="janssen"))
    untouched = np.ones(x.shape, dtype=bool)
    untouched[4000:4200, :] = False
    untouched[12000:12400, 1] = False
    assert np.array_equal(result.samples[untouched], x[untouched])
    assert {(f.gap.start, f.channel) for f in result.fills} == {(4000, 0), (4000, 1), (12000, 1)}


def test_silent_context_is_filled_with_silence() -> None:
    x = np.zeros(SR)
    x[:100] = 0.5
    result = inpaint(x, SR, [Gap(8000, 8800)])
    assert result.fills[0].method == "zeros" and not np.any(result.samples[8000:8800])


def test_auto_without_model_uses_similarity_for_long_repeated_material() -> None:
    rng = np.random.default_rng(5)
    bar = np.concatenate([np.sin(2 * np.pi * f * np.arange(SR // 4) / SR) * np.exp(-np.linspace(0, 3, SR // 4))
                          for f in rng.uniform(200, 800, size=4)])
    x = np.tile(bar, 4) + 1e-3 * rng.standard_normal(4 * len(bar))
    start, end = int(2.2 * SR), int(2.5 * SR)
    result = inpaint(x, SR, [Gap(start, end)])
    assert result.fills[0].method == "similarity"
    assert snr_db(x[start:end], result.samples[start:end, 0]) > 10


def test_a_close_repeat_wins_over_the_model_for_long_gaps_only() -> None:
    from models.inpaint.network import SpectralGapNet

    rng = np.random.default_rng(5)
    bar = np.concatenate([np.sin(2 * np.pi * f * np.arange(SR // 4) / SR) * np.exp(-np.linspace(0, 3, SR // 4))
                          for f in rng.uniform(200, 800, size=4)])
    x = np.tile(bar, 4) + 0.003 * rng.standard_normal(4 * len(bar))  # a repeat, but not a perfect one
    model = SpectralGapNet(hidden=8, dilations=(1,), copy_input=True).eval()
    start = int(2.2 * SR)
    damaged = x.copy()
    damaged[start : start + int(0.3 * SR)] = 0.0
    known = np.ones(len(x), dtype=bool)
    known[start : start + int(0.3 * SR)] = False
    match = find_similar(damaged, SR, start, start + int(0.3 * SR), known=known)
    params = FillParams()
    assert match is not None and params.copy_over_model_score_long <= match.score < params.copy_over_model_score

    def method(length_s: float, fill_params: FillParams) -> str:
        gap = Gap(start, start + int(length_s * SR))
        zeroed = x.copy()
        zeroed[gap.start : gap.end] = 0.0
        return inpaint(zeroed, SR, [gap], params=fill_params, model=model).fills[0].method

    assert method(0.3, params) == "similarity"
    assert method(0.2, params) == "model"  # short gaps: the model's fill, unless the match is near perfect
    assert method(0.3, FillParams(copy_over_model_score_long=0.99)) == "model"


def test_stft_round_trip_and_grid() -> None:
    grid = StftGrid.for_rate(44100)
    assert grid.n_fft == 4 * grid.hop and grid.n_fft == 2048
    x = np.random.default_rng(0).standard_normal(5000)
    np.testing.assert_allclose(istft(stft(x, grid), grid, len(x)), x, atol=1e-9)


def test_metrics_rank_a_good_fill_above_zeros() -> None:
    x = tones()
    start, end = SR, SR + 1600
    zeroed = x.copy()
    zeroed[start:end] = 0.0
    noisy = x.copy()
    noisy[start:end] += 1e-4 * np.random.default_rng(0).standard_normal(end - start)
    assert snr_db(x[start:end], noisy[start:end]) > 30
    assert lsd_db(x, noisy, SR, start, end) < lsd_db(x, zeroed, SR, start, end)
