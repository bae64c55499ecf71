"""The ``--report`` picture: waveform and spectrogram before and after, with the gaps marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.signal import spectrogram

from models.atomic import atomic_path
from models.inpaint.gaps import Gap


def draw_report(before: np.ndarray, after: np.ndarray, sr: int, gaps: Sequence[Gap], path: Path, *,
                title: str = "") -> Path:
    """Write a PNG: 2×2 panels (waveform, spectrogram) × (before, after), gaps shaded red.

    When there is one region of interest (all gaps within 4 s), the view zooms
    to it with a second of context, since a 0.1 s gap is invisible in an hour.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mono_before = _mono(before)
    mono_after = _mono(after)
    lo, hi = view_range(len(mono_before), sr, gaps)
    fig, axes = plt.subplots(2, 2, figsize=(13, 6.5), sharex=True, constrained_layout=True)
    for column, (label, signal) in enumerate((("before", mono_before), ("after", mono_after))):
        segment = signal[lo:hi]
        times = (lo + np.arange(len(segment))) / sr
        step = max(1, len(segment) // 4000)
        wave = axes[0, column]
        if step > 1:
            blocks = segment[: len(segment) // step * step].reshape(-1, step)
            wave.fill_between(times[: blocks.shape[0] * step : step], blocks.min(axis=1), blocks.max(axis=1),
                              color="#345", linewidth=0)
        else:
            wave.plot(times, segment, color="#345", linewidth=0.6)
        wave.set_title(f"{label}: waveform")
        wave.set_ylim(-1.05, 1.05)
        spec_ax = axes[1, column]
        n_fft = 1 << int(np.log2(max(256, sr // 40)))
        if len(segment) > n_fft:
            freqs, _, power = spectrogram(segment, fs=sr, nperseg=n_fft, noverlap=n_fft * 3 // 4)
            level_db = 10 * np.log10(power + 1e-14)
            spec_ax.imshow(level_db, origin="lower", aspect="auto", cmap="magma",
                           vmin=float(level_db.max()) - 100, vmax=float(level_db.max()),
                           extent=(float(times[0]), float(times[-1]), 0.0, float(freqs[-1])))
        spec_ax.set_title(f"{label}: spectrogram")
        spec_ax.set_xlabel("time (s)")
        spec_ax.set_ylabel("Hz")
        # A 20 ms gap in an hour-long overview would be narrower than a pixel: draw each at
        # least 0.3 % of the view wide so every gap can be found.
        min_width = 0.003 * (hi - lo)
        for gap in gaps:
            if gap.end < lo or gap.start > hi:
                continue
            centre, half = (gap.start + gap.end) / 2, max(gap.end - gap.start, min_width) / 2
            for ax in (wave, spec_ax):
                ax.axvspan((centre - half) / sr, (centre + half) / sr, color="red", alpha=0.35, linewidth=0)
    if title:
        fig.suptitle(title)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return path


def _mono(samples: np.ndarray) -> np.ndarray:
    data = np.asarray(samples, dtype=np.float64)
    return data if data.ndim == 1 else data.mean(axis=1)


def view_range(frames: int, sr: int, gaps: Sequence[Gap]) -> tuple[int, int]:
    """Frames ``[lo, hi)`` the picture shows: the gaps with a second of context when they all lie
    within 4 s, else the whole signal."""
    if gaps and (gaps[-1].end - gaps[0].start) < 4 * sr:
        return max(0, gaps[0].start - sr), min(frames, max(g.end for g in gaps) + sr)
    return 0, frames
