"""Choosing decoding thresholds on the selection pieces (never on the benchmark pieces).

The network's posteriors are computed once per piece; each candidate setting
only re-runs the cheap decoder, so a grid of a few dozen settings costs seconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from models.transcribe.decode import DecodeSettings, Posteriors, decode
from models.transcribe.evaluate import mean_scores, score


@dataclass(frozen=True)
class TuningResult:
    settings: DecodeSettings
    scores: dict[str, float]


def tune_decoding(posteriors: Sequence[Posteriors], truths: Sequence[np.ndarray], *,
                  onset_thresholds: Sequence[float] = (0.3, 0.4, 0.5, 0.6),
                  frame_thresholds: Sequence[float] = (0.3, 0.4, 0.5, 0.6),
                  offset_thresholds: Sequence[float] = (0.5, 0.7, 1.01),
                  base: DecodeSettings | None = None) -> list[TuningResult]:
    """Every grid setting with its mean scores, best first (onset F1 plus half the onset+offset F1)."""
    start = base or DecodeSettings()
    results = []
    for onset, frame, offset in itertools.product(onset_thresholds, frame_thresholds, offset_thresholds):
        settings = replace(start, onset_threshold=onset, frame_threshold=frame, offset_threshold=offset,
                           retrigger_threshold=max(onset, start.retrigger_threshold))
        scores = []
        for post, truth in zip(posteriors, truths, strict=True):
            notes = decode(post, settings)
            estimated = np.array([[n.pitch, n.start_s, n.end_s, n.velocity] for n in notes], dtype=float)
            scores.append(score(truth, estimated.reshape(-1, 4)))
        results.append(TuningResult(settings, mean_scores(scores)))
    results.sort(key=lambda r: -(r.scores["onset_f1"] + 0.5 * r.scores["onset_offset_f1"]))
    return results
