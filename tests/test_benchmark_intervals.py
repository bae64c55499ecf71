"""Benchmark means come with bootstrap intervals over the units that vary (gaps, pieces)."""

from __future__ import annotations

import numpy as np

from models.stats import bootstrap_mean_interval


def test_the_interval_holds_the_mean_and_narrows_with_more_units() -> None:
    rng = np.random.default_rng(3)
    few = rng.normal(0.9, 0.05, 12)
    many = rng.normal(0.9, 0.05, 480)
    low, high = bootstrap_mean_interval(few, rng=np.random.default_rng(0), resamples=4000)
    assert low < few.mean() < high
    wide_low, wide_high = low, high
    low, high = bootstrap_mean_interval(many, rng=np.random.default_rng(0), resamples=4000)
    assert low < many.mean() < high and (high - low) < (wide_high - wide_low) / 3
    assert bootstrap_mean_interval(np.full(5, 0.5), rng=np.random.default_rng(0), resamples=100) == (0.5, 0.5)


def test_the_transcription_bench_pairs_its_lead_piece_by_piece() -> None:
    from daemon.commands._bench_transcribe import BEST_TUNED, _onset_f1_intervals

    ours = [0.95, 0.96, 0.94, 0.97, 0.93, 0.95]
    rival = [f - 0.05 for f in ours]  # a constant lead: no spread once paired
    intervals = _onset_f1_intervals({"reamend": {"clean": ours, "tape": ours}, BEST_TUNED: {"clean": rival}})
    assert set(intervals) == {"reamend", f"lead over {BEST_TUNED}"}
    lead = intervals[f"lead over {BEST_TUNED}"]
    assert set(lead) == {"clean"}  # no rival scores on tape, no lead there
    assert abs(lead["clean"]["mean"] - 0.05) < 1e-12
    assert lead["clean"]["high"] - lead["clean"]["low"] < 1e-12
    reamend = intervals["reamend"]["tape"]
    assert reamend["low"] < reamend["mean"] == np.mean(ours) < reamend["high"]


def test_a_pooled_ratio_interval_resamples_whole_units() -> None:
    from models.stats import bootstrap_ratio_interval

    # Ten episodes at 0.95 and one large episode at 0.5: the pooled ratio depends on whether
    # resamples draw the large one, so the interval is wide even though frames are many.
    hits = np.array([95.0] * 10 + [500.0])
    totals = np.array([100.0] * 10 + [1000.0])
    low, high = bootstrap_ratio_interval(hits, totals, rng=np.random.default_rng(0), resamples=4000)
    pooled = hits.sum() / totals.sum()
    assert low < pooled < high and high - low > 0.2
    even = bootstrap_ratio_interval(np.full(8, 9.0), np.full(8, 10.0), rng=np.random.default_rng(0), resamples=100)
    assert np.allclose(even, (0.9, 0.9))
