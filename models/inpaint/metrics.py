"""Quality measures for filled gaps: SNR inside the gap, log-spectral distance around it.

SNR measures waveform fidelity, which only short gaps can reach (a 400 ms gap
cannot be predicted sample by sample, and a plausible fill with another phase
scores near 0 dB). LSD compares power spectra on the frames that overlap the
gap plus a margin, so it rewards fills that sound right even when the waveform
differs; the same STFT grid is used at every rate (about 21.5 Hz per bin).
"""

from __future__ import annotations

import numpy as np

from models.inpaint.stft import StftGrid, stft


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """``10 log10(|ref|² / |ref - est|²)`` over the given samples."""
    signal = float(np.sum(np.asarray(reference, dtype=np.float64) ** 2))
    noise = float(np.sum((np.asarray(reference, dtype=np.float64) - estimate) ** 2))
    return 10.0 * float(np.log10((signal + 1e-20) / (noise + 1e-20)))


def lsd_db(reference: np.ndarray, estimate: np.ndarray, sr: int, start: int, end: int, *,
           margin_s: float = 0.05, floor_db: float = -80.0) -> float:
    """Log-spectral distance (dB) on frames overlapping ``[start - margin, end + margin)``.

    Per frame: RMS over bins of the difference of power spectra in dB; then the
    mean over frames. Powers are floored ``floor_db`` below the reference's peak
    so inaudible bins do not dominate.
    """
    grid = StftGrid.for_rate(sr)
    margin = int(margin_s * sr)
    lo = max(0, start - margin - grid.n_fft)
    hi = min(len(reference), end + margin + grid.n_fft)
    ref_spec = np.abs(stft(np.asarray(reference[lo:hi], dtype=np.float64), grid)) ** 2
    est_spec = np.abs(stft(np.asarray(estimate[lo:hi], dtype=np.float64), grid)) ** 2
    f0, f1 = grid.frames_touching(start - margin - lo, end + margin - lo)
    f0, f1 = max(0, f0), min(ref_spec.shape[0], f1)
    floor = max(float(ref_spec[f0:f1].max()), 1e-20) * 10 ** (floor_db / 10)
    ref_db = 10 * np.log10(np.maximum(ref_spec[f0:f1], floor))
    est_db = 10 * np.log10(np.maximum(est_spec[f0:f1], floor))
    return float(np.mean(np.sqrt(np.mean((ref_db - est_db) ** 2, axis=1))))
