"""A small STFT pair with explicit framing, shared by the model, phase reconstruction and metrics.

Frame ``t`` is centred on sample ``t * hop``; the inverse is the least-squares
overlap-add (window-squared normalisation), so ``istft(stft(x)) == x`` on the
interior. Bin spacing is kept near 21.5 Hz at every sample rate (``n_fft`` scales
with the rate) so the learned model sees the same frequency grid everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The model's native grid: 1024-point frames at 22.05 kHz, hop 256 (11.6 ms).
REFERENCE_SR = 22050
REFERENCE_N_FFT = 1024
MODEL_BINS = REFERENCE_N_FFT // 2 + 1


@dataclass(frozen=True)
class StftGrid:
    n_fft: int
    hop: int

    @classmethod
    def for_rate(cls, sr: int) -> StftGrid:
        hop = max(16, round(REFERENCE_N_FFT / 4 * sr / REFERENCE_SR))
        return cls(n_fft=4 * hop, hop=hop)

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def frames_for(self, samples: int) -> int:
        return samples // self.hop + 1

    def frames_touching(self, start: int, end: int) -> tuple[int, int]:
        """Frames ``[f0, f1)`` whose window overlaps samples ``[start, end)``."""
        half = self.n_fft // 2
        f0 = max(0, -(-(start - half + 1) // self.hop))
        f1 = (end - 1 + half) // self.hop + 1
        return f0, f1


def stft(x: np.ndarray, grid: StftGrid) -> np.ndarray:
    """Complex spectrogram ``(frames, bins)`` of 1-D ``x`` (zero-padded by ``n_fft/2`` both sides)."""
    half = grid.n_fft // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), (half, half + grid.hop))
    n_frames = grid.frames_for(len(x))
    frames = np.lib.stride_tricks.sliding_window_view(padded, grid.n_fft)[:: grid.hop][:n_frames]
    return np.fft.rfft(frames * np.hanning(grid.n_fft + 1)[:-1], axis=1)


def istft(spec: np.ndarray, grid: StftGrid, length: int) -> np.ndarray:
    """Least-squares inverse of :func:`stft`, cut to ``length`` samples."""
    window = np.hanning(grid.n_fft + 1)[:-1]
    frames = np.fft.irfft(spec, n=grid.n_fft, axis=1) * window
    out = _overlap_add(frames, grid)
    norm = _overlap_add(np.broadcast_to(window**2, frames.shape), grid)
    half = grid.n_fft // 2
    out = out[half : half + length]
    norm = norm[half : half + length]
    return np.asarray(out / np.maximum(norm, 1e-8))


def _overlap_add(frames: np.ndarray, grid: StftGrid) -> np.ndarray:
    """Sum ``(frames, n_fft)`` at hop spacing; ``n_fft = 4 * hop`` makes it four strided adds."""
    n_frames = frames.shape[0]
    ratio = grid.n_fft // grid.hop
    out = np.zeros((n_frames + ratio - 1) * grid.hop)
    for part in range(ratio):
        chunk = frames[:, part * grid.hop : (part + 1) * grid.hop].reshape(-1)
        out[part * grid.hop : part * grid.hop + chunk.size] += chunk
    return out
