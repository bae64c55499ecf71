"""Similarity copy: fill a gap with the passage elsewhere in the recording whose surroundings match.

Music repeats itself (a refrain, a second verse, a held chord), so the best fill
for a long gap is often a copy of another passage. The search compares the
gap's left and right context, as log-band spectra, with every other position
(one FFT correlation per band), then aligns the chosen passage to the sample
by waveform cross-correlation at both edges and matches its level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from models.inpaint.stft import StftGrid, stft


@dataclass(frozen=True)
class SimilarityMatch:
    """The copied passage ``samples`` for gap ``[start, end)`` came from ``source_start``."""

    samples: np.ndarray
    source_start: int
    score: float
    gain: float


def band_features(x: np.ndarray, sr: int, *, bands: int = 48) -> tuple[np.ndarray, StftGrid]:
    """Log energies in ``bands`` log-spaced bands, ``(frames, bands)``, standardised per band."""
    grid = StftGrid.for_rate(sr)
    power = np.abs(stft(x, grid)) ** 2
    freqs = np.fft.rfftfreq(grid.n_fft, 1.0 / sr)
    edges = np.geomspace(60.0, min(sr / 2, 12000.0), bands + 1)
    index = np.clip(np.searchsorted(edges, freqs) - 1, -1, bands)
    pooled = np.zeros((power.shape[0], bands))
    for band in range(bands):
        columns = index == band
        if columns.any():
            pooled[:, band] = power[:, columns].sum(axis=1)
    feats = np.log(pooled + 1e-9)
    feats -= feats.mean(axis=0)
    feats /= feats.std(axis=0) + 1e-6
    return feats, grid


def find_similar(
    x: np.ndarray,
    sr: int,
    start: int,
    end: int,
    *,
    known: np.ndarray | None = None,
    features: tuple[np.ndarray, StftGrid] | None = None,
    context_s: float = 0.3,
    edge_align_s: float = 0.02,
) -> SimilarityMatch | None:
    """Best-matching passage for ``x[start:end]``, or ``None`` when nothing usable exists.

    ``known`` marks trusted samples (other gaps are ``False`` and never copied
    from). ``features`` lets a caller reuse one analysis for many gaps.
    """
    feats, grid = features if features is not None else band_features(x, sr)
    n_frames = feats.shape[0]
    f0, f1 = grid.frames_touching(start, end)
    context = max(4, round(context_s * sr / grid.hop))
    lc = min(context, f0)
    rc = min(context, max(0, n_frames - f1))
    if lc + rc < 4:
        return None
    template = feats[f0 - lc : f1 + rc].copy()
    weight = np.ones(template.shape[0])
    weight[lc : lc + (f1 - f0)] = 0.0
    template *= weight[:, None]
    span = template.shape[0]
    # Correlate every band: numerator[s] = sum_k <template[k], feats[s + k]>.
    numerator = sum(
        fftconvolve(feats[:, b], template[::-1, b], mode="valid") for b in range(feats.shape[1])
    )
    energy = fftconvolve((feats**2).sum(axis=1), weight[::-1], mode="valid")
    score = numerator / (np.sqrt(np.maximum(energy, 1e-9)) * (np.linalg.norm(template) + 1e-9))
    offsets = np.arange(len(score))
    own = f0 - lc
    score[np.abs(offsets - own) < span] = -np.inf
    if known is not None:
        bad_frames = _unknown_frames(known, grid, n_frames)
        blocked = fftconvolve(bad_frames.astype(float), np.ones(span), mode="valid") > 0.5
        score[blocked[: len(score)]] = -np.inf
    if not np.isfinite(score).any():
        return None
    best = int(np.argmax(score))
    shift = (best - own) * grid.hop
    shift += _edge_alignment(x, start, end, shift, int(edge_align_s * sr), grid.hop)
    source_start = start + shift
    if source_start < 0 or source_start + (end - start) > len(x):
        return None
    gain = _level_match(x, start, end, source_start, int(context_s * sr))
    samples = np.asarray(x[source_start : source_start + end - start], dtype=np.float64) * gain
    return SimilarityMatch(samples=samples, source_start=source_start, score=float(score[best]), gain=gain)


def aligned_copy(x: np.ndarray, start: int, length: int, shift: int, gain: float) -> np.ndarray:
    """``x[start + shift : start + shift + length] * gain``, zero-padded past the signal's ends."""
    out = np.zeros(length)
    lo, hi = start + shift, start + shift + length
    a, b = max(lo, 0), min(hi, len(x))
    if b > a:
        out[a - lo : b - lo] = x[a:b] * gain
    return out


def _unknown_frames(known: np.ndarray, grid: StftGrid, n_frames: int) -> np.ndarray:
    bad = np.zeros(n_frames, dtype=bool)
    missing = np.flatnonzero(~known)
    if missing.size:
        breaks = np.flatnonzero(np.diff(missing) > 1)
        starts = np.concatenate([[missing[0]], missing[breaks + 1]])
        ends = np.concatenate([missing[breaks], [missing[-1]]]) + 1
        for s, e in zip(starts, ends, strict=True):
            f0, f1 = grid.frames_touching(int(s), int(e))
            bad[f0 : min(f1, n_frames)] = True
    return bad


def _edge_alignment(x: np.ndarray, start: int, end: int, shift: int, width: int, search: int) -> int:
    """Sample offset (within ±``search``) that best lines the copy's edges up with the real ones.

    Normalized cross-correlation of the ``width`` samples before and after the gap
    with every candidate lag, at full resolution (noise-like signals correlate
    over a single sample).
    """
    width = max(16, width)
    gap = end - start
    left_ref = x[max(0, start - width) : start]
    right_ref = x[end : end + width]
    lags = np.arange(-search, search + 1)
    total = np.zeros(len(lags))
    for ref, offset in ((left_ref, -len(left_ref)), (right_ref, gap)):
        if len(ref) == 0:
            continue
        lo = start + shift + offset - search
        hi = lo + len(ref) + 2 * search
        if lo < 0 or hi > len(x):
            return 0
        region = x[lo:hi]
        dots = np.correlate(region, ref, mode="valid")
        energy = np.convolve(region**2, np.ones(len(ref)), mode="valid")
        total += dots / (np.sqrt(np.maximum(energy, 1e-20)) * (np.linalg.norm(ref) + 1e-12))
    return int(lags[int(np.argmax(total))])


def _level_match(x: np.ndarray, start: int, end: int, source_start: int, width: int) -> float:
    """Scale the copy so its surroundings' level matches the gap's surroundings (within ×0.25..×4)."""
    def rms(a: np.ndarray) -> float:
        return float(np.sqrt(np.mean(a**2))) if len(a) else 0.0

    gap = end - start
    target = rms(np.concatenate([x[max(0, start - width) : start], x[end : end + width]]))
    source = rms(np.concatenate([x[max(0, source_start - width) : source_start],
                                 x[source_start + gap : source_start + gap + width]]))
    if source <= 1e-9 or target <= 1e-9:
        return 1.0
    return float(np.clip(target / source, 0.25, 4.0))
