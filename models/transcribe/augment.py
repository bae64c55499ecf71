"""Degradations applied to rendered piano before the features: rooms, EQ, noise, tape.

A soundfont heard dry is far from a real recording. Each chain here is drawn at
random per training item so the transcriber learns notes, not one microphone:
room reverb (decaying noise impulse responses), tilt and peaking EQ, band
limits (old recordings and phone audio), broadband and pink noise, tape hiss,
wow and flutter (slow and fast speed wobble), and level changes. The same
functions build the fixed "tape" condition of the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class TapeSettings:
    """A fixed cassette-like degradation for evaluation."""

    wow_depth: float = 0.0025
    wow_hz: float = 0.6
    flutter_depth: float = 0.0008
    flutter_hz: float = 9.0
    hiss_db: float = -42.0
    lowpass_hz: float = 7000.0
    highpass_hz: float = 60.0


def _fft_convolve(audio: np.ndarray, impulse: np.ndarray) -> np.ndarray:
    return signal.fftconvolve(audio, impulse)[: audio.shape[0]].astype(np.float32)


def room_reverb(audio: np.ndarray, sr: int, rng: np.random.Generator, *, rt60_s: float | None = None,
                wet: float | None = None) -> np.ndarray:
    """Exponentially decaying noise as a room response: cheap and convincing at 16 kHz."""
    rt60 = rt60_s if rt60_s is not None else float(rng.uniform(0.2, 1.8))
    mix = wet if wet is not None else float(rng.uniform(0.1, 0.5))
    length = int(sr * min(rt60 * 1.2, 2.5))
    t = np.arange(length, dtype=np.float32) / sr
    impulse = rng.standard_normal(length).astype(np.float32) * np.exp(-6.9 * t / rt60).astype(np.float32)
    # Air absorbs highs faster: darken the tail with a one-pole low-pass.
    b, a = signal.butter(1, min(0.99, float(rng.uniform(2000, 7000)) / (sr / 2)))
    impulse = signal.lfilter(b, a, impulse).astype(np.float32)
    impulse[: int(0.005 * sr)] *= 0.0  # pre-delay: the direct sound comes first
    impulse /= np.sqrt(np.sum(impulse**2)) + 1e-9
    reverberant = _fft_convolve(audio, impulse)
    return ((1 - mix) * audio + mix * reverberant).astype(np.float32)


def random_eq(audio: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A few random peaking filters of +-9 dB: a different piano, room or microphone colour."""
    out = audio
    for _ in range(int(rng.integers(1, 4))):
        freq = float(np.exp(rng.uniform(np.log(80), np.log(sr / 2 * 0.8))))
        gain_db = float(rng.uniform(-9, 9))
        q = float(rng.uniform(0.5, 2.0))
        out = _peaking(out, sr, freq, gain_db, q)
    return out


def _peaking(audio: np.ndarray, sr: int, freq_hz: float, gain_db: float, q: float) -> np.ndarray:
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq_hz / sr
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp])
    return signal.lfilter(b / a[0], a / a[0], audio).astype(np.float32)


def band_limit(audio: np.ndarray, sr: int, *, highpass_hz: float | None, lowpass_hz: float | None) -> np.ndarray:
    out = audio
    if lowpass_hz is not None and lowpass_hz < sr / 2 * 0.95:
        sos = signal.butter(4, lowpass_hz, btype="low", fs=sr, output="sos")
        out = signal.sosfilt(sos, out)
    if highpass_hz is not None and highpass_hz > 20:
        sos = signal.butter(2, highpass_hz, btype="high", fs=sr, output="sos")
        out = signal.sosfilt(sos, out)
    return np.asarray(out, dtype=np.float32)


def add_noise(audio: np.ndarray, rng: np.random.Generator, *, level_db: float, color: str = "white",
              sr: int = 16000) -> np.ndarray:
    """Noise at ``level_db`` relative to the signal's RMS ("white", "pink" or "hiss")."""
    noise = np.asarray(rng.standard_normal(audio.shape[0]), dtype=np.float32)
    if color == "pink":
        noise = signal.lfilter([0.049922, -0.095993, 0.050612, -0.004408],
                               [1, -2.494956, 2.017265, -0.522190], noise).astype(np.float32)
    elif color == "hiss":
        sos = signal.butter(2, 2500, btype="high", fs=sr, output="sos")
        noise = signal.sosfilt(sos, noise).astype(np.float32)
    rms = float(np.sqrt(np.mean(audio**2)) + 1e-9)
    noise *= rms * 10 ** (level_db / 20) / (float(np.sqrt(np.mean(noise**2))) + 1e-9)
    return np.asarray(audio + noise, dtype=np.float32)


def wow_flutter(audio: np.ndarray, sr: int, *, wow_depth: float, wow_hz: float, flutter_depth: float,
                flutter_hz: float, phase: float = 0.0) -> np.ndarray:
    """Read the signal at a wobbling speed (a worn tape transport), by linear interpolation."""
    n = audio.shape[0]
    t = np.arange(n) / sr
    speed = 1 + wow_depth * np.sin(2 * np.pi * wow_hz * t + phase) + flutter_depth * np.sin(2 * np.pi * flutter_hz * t)
    position = np.cumsum(speed) - speed[0]
    position = np.clip(position, 0, n - 1)
    return np.interp(position, np.arange(n), audio).astype(np.float32)


def tape(audio: np.ndarray, sr: int, rng: np.random.Generator, settings: TapeSettings | None = None) -> np.ndarray:
    """The cassette condition: wow and flutter, band limits, hiss."""
    s = settings or TapeSettings()
    out = wow_flutter(audio, sr, wow_depth=s.wow_depth, wow_hz=s.wow_hz, flutter_depth=s.flutter_depth,
                      flutter_hz=s.flutter_hz, phase=float(rng.uniform(0, 2 * np.pi)))
    out = band_limit(out, sr, highpass_hz=s.highpass_hz, lowpass_hz=s.lowpass_hz)
    return add_noise(out, rng, level_db=s.hiss_db, color="hiss", sr=sr)


def random_chain(audio: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One random degradation chain for training (about one item in five stays clean)."""
    if rng.random() < 0.2:
        return audio
    out = audio
    if rng.random() < 0.6:
        out = room_reverb(out, sr, rng)
    if rng.random() < 0.6:
        out = random_eq(out, sr, rng)
    if rng.random() < 0.35:
        out = tape(out, sr, rng, TapeSettings(
            wow_depth=float(rng.uniform(0, 0.004)), wow_hz=float(rng.uniform(0.3, 1.5)),
            flutter_depth=float(rng.uniform(0, 0.0015)), flutter_hz=float(rng.uniform(5, 15)),
            hiss_db=float(rng.uniform(-50, -28)), lowpass_hz=float(rng.uniform(4000, 8000)),
            highpass_hz=float(rng.uniform(30, 150))))
    elif rng.random() < 0.3:
        out = band_limit(out, sr, highpass_hz=float(rng.uniform(40, 250)), lowpass_hz=float(rng.uniform(2500, 7500)))
    if rng.random() < 0.4:
        out = add_noise(out, rng, level_db=float(rng.uniform(-50, -20)),
                        color=str(rng.choice(["white", "pink"])), sr=sr)
    return out.astype(np.float32)
