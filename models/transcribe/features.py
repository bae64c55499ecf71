"""The model's input: a log-frequency spectrogram, two bins per semitone, 50 frames per second.

Everything the transcriber sees goes through :func:`log_spectrogram`, at
training and at inference alike, so the two can never disagree. Bins are
aligned to the equal-tempered keyboard (bin ``2 * (midi - 21)`` is centred on
that key), which lets the network share one set of weights across all keys: a
pattern learned on middle C works on every key, so it learns from far fewer
examples than a model that must learn each key separately. The axis runs from
A0 to about 8 kHz (MIDI 130), so the upper partials of high notes stay visible.

Audio is peak-normalized first: the network learns loudness from timbre and
relative level, not from the recording's gain. 16 kHz keeps every piano
fundamental and the partials that matter while making the STFT cheap; a 20 ms
hop is fine enough for 50 ms onset tolerance once peaks are interpolated.

A second, long-window spectrogram (:func:`long_spectrogram`, 8192 points: 512 ms,
1.95 Hz bins) on the same grid and frames separates the bass: the 2048-point
window's 7.8 Hz bins cannot tell keys apart whose fundamentals are 1.6 to 7 Hz
apart (A0 to B2), and below C2 not even their sixth partials. Networks built
with ``input_channels=2`` see both, stacked as channels (:func:`model_features`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

SAMPLE_RATE = 16000
HOP = 320
N_FFT = 2048
N_FFT_LONG = 8192
BINS_PER_SEMITONE = 2
LOWEST_MIDI = 21
SEMITONES = 110
N_BINS = SEMITONES * BINS_PER_SEMITONE
FRAMES_PER_S = SAMPLE_RATE / HOP
#: Floor added before the log so silence maps to a finite value (about -80 dB).
_FLOOR = 1e-8


def bin_midi(index: float) -> float:
    """The MIDI pitch (fractional) at the centre of feature bin ``index``."""
    return LOWEST_MIDI + index / BINS_PER_SEMITONE


@lru_cache(maxsize=2)
def _filterbank(n_fft: int = N_FFT) -> np.ndarray:
    """Triangular filters ``(N_BINS, n_fft // 2 + 1)`` on a semitone grid, each summing to one.

    Low keys are closer together than the FFT's bins (7.8 Hz at 2048 points): there the
    triangles are widened to span at least one FFT bin on each side (interpolation).
    """
    fft_hz = np.arange(n_fft // 2 + 1) * SAMPLE_RATE / n_fft
    spacing = SAMPLE_RATE / n_fft
    bank = np.zeros((N_BINS, fft_hz.shape[0]), np.float32)
    for index in range(N_BINS):
        centre = 440.0 * 2 ** ((bin_midi(index) - 69) / 12)
        half_width = max(centre * (2 ** (1 / (12 * BINS_PER_SEMITONE)) - 1), spacing)
        weights = np.clip(1 - np.abs(fft_hz - centre) / half_width, 0, None)
        bank[index] = weights / max(weights.sum(), 1e-9)
    return bank


def frame_count(n_samples: int) -> int:
    """Frames of a centred STFT: one per hop, plus the frame at time zero."""
    return n_samples // HOP + 1


def normalize_peak(audio: np.ndarray, *, peak: float | None = None, target: float = 0.89) -> np.ndarray:
    """Scale ``audio`` so its peak (or the given file-wide ``peak``) sits at -1 dBFS."""
    reference = float(np.max(np.abs(audio), initial=0.0)) if peak is None else peak
    if reference < 1e-6:
        return audio.astype(np.float32, copy=False)
    return (audio * np.float32(target / reference)).astype(np.float32, copy=False)


def _stft_power(audio: np.ndarray, n_fft: int) -> torch.Tensor:
    """Power ``(n_fft // 2 + 1, frames)`` of a centred Hann STFT with hop :data:`HOP` (a clip
    shorter than half a window is zero-padded to it, so every spectrogram has a frame)."""
    import torch

    samples = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    if samples.numel() < n_fft // 2 + 1:
        samples = torch.nn.functional.pad(samples, (0, n_fft // 2 + 1 - samples.numel()))
    spec = torch.stft(samples, n_fft=n_fft, hop_length=HOP, window=torch.hann_window(n_fft),
                      center=True, pad_mode="constant", return_complex=True)
    return spec.real.square() + spec.imag.square()


def log_spectrogram(audio: np.ndarray) -> np.ndarray:
    """Features ``(frames, N_BINS)`` float32 of mono 16 kHz ``audio`` (already normalized).

    Frame ``i`` is centred on sample ``i * HOP``.
    """
    import torch

    binned = torch.from_numpy(_filterbank()) @ _stft_power(audio, N_FFT)
    out = torch.log(binned + _FLOOR).T.contiguous().numpy()
    return out[: frame_count(audio.shape[0])]


@lru_cache(maxsize=1)
def _sparse_long_filterbank() -> object:
    """The long window's filterbank as a sparse matrix: the dense one would cost 220 x 4097
    multiply-adds per frame (a large share of the network's cost), its triangles have about 8300 nonzero weights."""
    from scipy import sparse

    return sparse.csr_matrix(_filterbank(N_FFT_LONG))


def long_spectrogram(audio: np.ndarray) -> np.ndarray:
    """Features ``(frames, N_BINS)`` float32 like :func:`log_spectrogram`, with an 8192-point window.

    Same frames (centred on ``i * HOP``), same semitone grid; four times finer frequency
    resolution, four times coarser in time, so it adds pitch evidence in the bass while the
    short window keeps the onsets sharp.
    """
    power = _stft_power(audio, N_FFT_LONG).numpy()  # (freq, frames)
    binned = np.asarray(_sparse_long_filterbank() @ power, dtype=np.float32)
    out = np.log(binned + _FLOOR).T
    return np.ascontiguousarray(out[: frame_count(audio.shape[0])])


def model_features(audio: np.ndarray, *, input_channels: int) -> np.ndarray:
    """The network's input for ``audio``: ``(frames, N_BINS)`` for one channel (the 2048-point
    spectrogram), ``(frames, 2, N_BINS)`` for two (plus the 8192-point one)."""
    short = log_spectrogram(audio)
    if input_channels == 1:
        return short
    if input_channels != 2:
        raise ValueError(f"input_channels must be 1 or 2, not {input_channels}")
    return np.stack([short, long_spectrogram(audio)], axis=1)


#: Frames each side whose audio one long-window frame reads (its half window, rounded up).
LONG_WINDOW_HALF_FRAMES = -(-N_FFT_LONG // 2 // HOP)
