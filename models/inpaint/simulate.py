"""Simulated damage with known ground truth: gaps and dropouts for training, benchmarks and tests.

Digital dropouts replace a run with zeros or the last good sample (a buffer
underrun, a bad block). Tape dropouts multiply the signal by a smooth envelope
that falls 15-40 dB within 1-4 ms, while the same span is low-passed at
1-4 kHz (the oxide gap loses treble first), then recovers as quickly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from models.inpaint.gaps import Gap, GapKind


@dataclass(frozen=True)
class Damage:
    """``samples`` with damage applied, and where it is."""

    samples: np.ndarray
    gaps: tuple[Gap, ...]


def place_gaps(x: np.ndarray, sr: int, lengths_ms: Sequence[float], *, rng: np.random.Generator,
               min_separation_s: float = 0.6, min_level_db: float = -40.0, edge_s: float = 0.5,
               span_min_level_db: float | None = None, tries: int = 400) -> list[tuple[int, int]]:
    """Non-overlapping ``[start, end)`` ranges of the given lengths where the signal is not quiet
    (range and surroundings together; with ``span_min_level_db`` the range on its own too)."""
    taken: list[tuple[int, int]] = []
    separation = int(min_separation_s * sr)
    edge = int(edge_s * sr)
    peak = float(np.max(np.abs(x))) + 1e-12
    for length_ms in lengths_ms:
        length = max(1, int(length_ms * 1e-3 * sr))
        for _ in range(tries):
            if len(x) - edge - length <= edge:
                break
            start = int(rng.integers(edge, len(x) - edge - length))
            end = start + length
            if any(start < e + separation and end > s - separation for s, e in taken):
                continue
            around = np.concatenate([x[max(0, start - length) : start], x[end : end + length], x[start:end]])
            if _rms_re_peak_db(around, peak) < min_level_db:
                continue
            if span_min_level_db is not None and _rms_re_peak_db(x[start:end], peak) < span_min_level_db:
                continue
            taken.append((start, end))
            break
    return sorted(taken)


def _rms_re_peak_db(segment: np.ndarray, peak: float) -> float:
    """RMS level of ``segment`` in dB relative to ``peak``."""
    return float(20 * np.log10(np.sqrt(np.mean(segment**2)) / peak + 1e-12))


def apply_digital(x: np.ndarray, start: int, end: int, *, held: bool) -> np.ndarray:
    out = x.copy()
    out[start:end] = x[start - 1] if held and start > 0 else 0.0
    return out


def apply_tape(x: np.ndarray, sr: int, start: int, end: int, *, rng: np.random.Generator) -> np.ndarray:
    """Attenuate and low-pass ``[start, end)`` with 1-4 ms ramps (ramps inside the range)."""
    depth_db = float(rng.uniform(15, 40))
    ramp = max(2, min(int(rng.uniform(0.001, 0.004) * sr), (end - start) // 3))
    cutoff_hz = float(rng.uniform(1000, 4000))
    sos = butter(2, min(cutoff_hz, 0.45 * sr), fs=sr, output="sos")
    lo, hi = max(0, start - 4096), min(len(x), end + 4096)
    dull = sosfiltfilt(sos, x[lo:hi])[start - lo : end - lo]
    envelope = np.ones(end - start)
    shape = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
    envelope[:ramp] = shape
    envelope[-ramp:] = shape[::-1]
    gain = 10 ** (-depth_db / 20)
    out = x.copy()
    segment = x[start:end]
    out[start:end] = segment * (1 - envelope) + dull * gain * envelope
    return out


#: A simulated dropout's own span must be at least this loud relative to the clip's peak.
DROPOUT_SPAN_MIN_DB = -60.0


def simulate_dropouts(x: np.ndarray, sr: int, *, rng: np.random.Generator, count: int,
                      kinds: Sequence[GapKind] = ("digital_zeros", "held_value", "tape"),
                      min_ms: float = 5.0, max_ms: float = 1000.0) -> Damage:
    """``count`` dropouts (log-uniform lengths), kinds drawn from ``kinds``, on 1-D ``x``.

    A dropout only goes where it takes something away: a long one checked only by its
    surroundings could fall on a rest in the music (80 dB down), where dropping out loses
    nothing and no detector can, or needs to, find it; so its own span must reach
    ``DROPOUT_SPAN_MIN_DB`` under the peak.
    """
    lengths = np.exp(rng.uniform(np.log(min_ms), np.log(max_ms), size=count))
    out = np.asarray(x, dtype=np.float64).copy()
    gaps = []
    for start, end in place_gaps(out, sr, lengths.tolist(), rng=rng, span_min_level_db=DROPOUT_SPAN_MIN_DB):
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "tape":
            out = apply_tape(out, sr, start, end, rng=rng)
        else:
            out = apply_digital(out, start, end, held=kind == "held_value")
        gaps.append(Gap(start=start, end=end, kind=kind))
    return Damage(samples=out, gaps=tuple(gaps))


@dataclass(frozen=True)
class DetectionScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_detection(truth: Sequence[Gap], found: Sequence[Gap], *, min_overlap: float = 0.5) -> DetectionScore:
    """Event matching: a detection counts when it covers ≥ ``min_overlap`` of a true dropout
    (one detection per dropout; detections covering nothing real are false positives)."""
    used: set[int] = set()
    hits = 0
    for gap in truth:
        for index, candidate in enumerate(found):
            if index in used:
                continue
            overlap = min(gap.end, candidate.end) - max(gap.start, candidate.start)
            if overlap >= min_overlap * gap.length:
                used.add(index)
                hits += 1
                break
    return DetectionScore(true_positives=hits, false_positives=len(found) - len(used),
                          false_negatives=len(truth) - hits)
