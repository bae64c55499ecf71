"""Frame features for the detector: level-normalised log-mel plus two scalar cues.

Input levels range from -40 to -10 dBFS, so each file's log-mel is expressed
relative to its own speech level (a high percentile of frame energy); the
absolute level is kept as one extra channel so the model can still tell digital
silence from quiet speech. A per-frame crest factor of the first difference
exposes mouth clicks, which last a few milliseconds and drown in a 25 ms window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft

from models.clean.labels import ANALYSIS_SR, HOP

N_FFT = 512
WIN = 400
N_MELS = 64
#: log-mel + absolute level + crest.
FEATURE_DIM = N_MELS + 2
_EPS = 1e-10


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    """``(N_MELS, N_FFT//2+1)`` triangular, area-normalised filters (librosa's defaults, without
    importing librosa: that import alone costs seconds per process)."""
    fft_hz = np.linspace(0, ANALYSIS_SR / 2, N_FFT // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(np.array(40.0)), _hz_to_mel(np.array(ANALYSIS_SR / 2)),
                                      N_MELS + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    win = np.zeros(N_FFT, dtype=np.float32)
    win[(N_FFT - WIN) // 2:(N_FFT - WIN) // 2 + WIN] = np.hanning(WIN).astype(np.float32)
    return win


@dataclass(frozen=True)
class RawFrames:
    """Un-normalised frame measurements of a mono 16 kHz signal.

    ``log_mel`` is ``(frames, N_MELS)`` in dB; ``energy_db`` and ``crest_db`` are ``(frames,)``.
    """

    log_mel: np.ndarray
    energy_db: np.ndarray
    crest_db: np.ndarray

    @property
    def frames(self) -> int:
        return int(self.energy_db.shape[0])


def frame_count(samples: int) -> int:
    """Frames for ``samples`` at 16 kHz: one per started hop."""
    return (samples + HOP - 1) // HOP


def raw_frames(signal: np.ndarray, *, left: np.ndarray | None = None,
               right: np.ndarray | None = None) -> RawFrames:
    """Measure a mono float32 16 kHz signal; frame ``i`` is centred on sample ``i*HOP + HOP/2``.

    ``left``/``right`` are the samples just before and after ``signal`` (zeros when
    omitted), so a long signal measured piece by piece gives the same frames.
    """
    signal = np.asarray(signal, dtype=np.float32)
    count = frame_count(signal.shape[0])
    pad_left = N_FFT // 2 - HOP // 2
    padded = np.zeros(count * HOP + N_FFT, dtype=np.float32)
    if left is not None and left.shape[0]:
        padded[pad_left - left.shape[0]:pad_left] = left[-pad_left:]
    padded[pad_left:pad_left + signal.shape[0]] = signal
    if right is not None and right.shape[0]:
        tail = right[: padded.shape[0] - pad_left - signal.shape[0]]
        padded[pad_left + signal.shape[0]:pad_left + signal.shape[0] + tail.shape[0]] = tail
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[: count * HOP: HOP][:count]
    spectrum = scipy.fft.rfft(frames * _window(), axis=1, workers=1)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    log_mel = 10.0 * np.log10(power @ _mel_basis().T + _EPS)
    flat = np.zeros(count * HOP, dtype=np.float32)
    flat[: signal.shape[0]] = signal
    hops = flat.reshape(count, HOP)
    energy_db = 10.0 * np.log10(np.mean(hops ** 2, axis=1) + _EPS)
    diff = np.diff(hops, axis=1, prepend=hops[:, :1])
    crest_db = 20.0 * np.log10((np.max(np.abs(diff), axis=1) + 1e-6) / (np.sqrt(np.mean(diff ** 2, axis=1)) + 1e-6))
    return RawFrames(log_mel=log_mel.astype(np.float32), energy_db=energy_db.astype(np.float32),
                     crest_db=crest_db.astype(np.float32))


def reference_level_db(energy_db: np.ndarray) -> float:
    """The file's speech level: the 90th percentile of frame energy (speech fills most loud frames)."""
    if energy_db.size == 0:
        return -100.0
    return float(np.percentile(energy_db, 90.0))


def normalise(raw: RawFrames, reference_db: float) -> np.ndarray:
    """Model input ``(frames, FEATURE_DIM)`` float32, scaled to roughly unit range."""
    out = np.empty((raw.frames, FEATURE_DIM), dtype=np.float32)
    out[:, :N_MELS] = (raw.log_mel - reference_db + 20.0) / 20.0
    out[:, N_MELS] = (raw.energy_db + 50.0) / 20.0
    out[:, N_MELS + 1] = (raw.crest_db - 10.0) / 5.0
    return out


def features_of(signal: np.ndarray) -> np.ndarray:
    """Features of one whole short signal (training episodes, tests)."""
    raw = raw_frames(signal)
    return normalise(raw, reference_level_db(raw.energy_db))
