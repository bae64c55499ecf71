"""Synthesized non-speech sounds and recording conditions for training episodes.

Everything is mono float32 at 16 kHz and drawn from a ``numpy`` Generator, so an
episode is reproducible from its seed. Shapes are varied on purpose (breath
resonances and envelopes, click spectra, bump lengths) because the model must
recognise classes, not memorise a template.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from models.clean.labels import ANALYSIS_SR

SR = ANALYSIS_SR


def _noise(rng: np.random.Generator, n: int, *, colour: float = 0.0) -> np.ndarray:
    """Noise with a ``1/f**colour`` power spectrum (0 white, 1 pink, 2 brown)."""
    white = rng.standard_normal(n).astype(np.float32)
    if colour == 0.0 or n < 4:
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1.0 / SR)
    freqs[0] = freqs[1]
    shaped = np.fft.irfft(spectrum / freqs ** (colour / 2.0), n)
    return (shaped / (np.std(shaped) + 1e-12)).astype(np.float32)


def _bandpass(x: np.ndarray, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    high_hz = min(high_hz, SR / 2 * 0.95)
    low_hz = max(10.0, min(low_hz, high_hz * 0.8))
    sos = sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=SR, output="sos")
    return sps.sosfilt(sos, x).astype(np.float32)


def _peaking(x: np.ndarray, freq_hz: float, gain_db: float, q: float) -> np.ndarray:
    """RBJ peaking biquad."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * min(freq_hz, SR * 0.45) / SR
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return sps.lfilter(b, den, x).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def change_speed(x: np.ndarray, factor: float) -> np.ndarray:
    """``x`` played ``factor`` times as fast: pitch, formants and tempo move together, as with a
    differently sized speaker (speed perturbation). Polyphase resampling with a rational factor."""
    from fractions import Fraction

    ratio = Fraction(1.0 / factor).limit_denominator(100)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def synth_inhale(rng: np.random.Generator) -> np.ndarray:
    """An inhale or exhale: noise through 2-4 vocal-tract-like resonances, swelling then fading."""
    duration_s = rng.uniform(0.15, 0.9)
    n = int(duration_s * SR)
    source = _noise(rng, n, colour=rng.uniform(0.0, 1.2))
    out = np.zeros(n, dtype=np.float32)
    for _ in range(int(rng.integers(2, 5))):
        centre = rng.uniform(350, 4500)
        width = centre * rng.uniform(0.15, 0.8)
        out += _bandpass(source, centre - width / 2, centre + width / 2) * rng.uniform(0.3, 1.0)
    out += _bandpass(source, 2500, 7800) * rng.uniform(0.0, 0.6)  # hiss of air through teeth
    if rng.random() < 0.25:  # nasal whistle
        t = np.arange(n) / SR
        out += 0.2 * np.sin(2 * np.pi * rng.uniform(700, 2500) * t).astype(np.float32) * rng.uniform(0, 1)
    peak_at = rng.uniform(0.2, 0.75)
    t = np.linspace(0, 1, n, dtype=np.float32)
    envelope = np.where(t < peak_at, (t / peak_at) ** rng.uniform(0.5, 2.0),
                        ((1 - t) / (1 - peak_at)) ** rng.uniform(0.5, 2.5))
    wobble = 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(2, 9) * t * duration_s + rng.uniform(0, 6))
    return (out * envelope * wobble).astype(np.float32)


def synth_exhale(rng: np.random.Generator) -> np.ndarray:
    """An exhale or sigh through an open mouth: breathy "h" noise shaped by one vowel's
    formants (F1 300-900 Hz, F2 900-2500 Hz), darker than an inhale, quick onset, long fade."""
    duration_s = rng.uniform(0.15, 0.9)
    n = int(duration_s * SR)
    source = _noise(rng, n, colour=rng.uniform(0.5, 1.8))
    first = rng.uniform(300, 900)
    second = rng.uniform(max(900.0, first * 1.4), 2500)
    out = _bandpass(source, first * 0.7, first * 1.3) * rng.uniform(0.5, 1.0)
    out += _bandpass(source, second * 0.8, second * 1.2) * rng.uniform(0.3, 1.0)
    out += _bandpass(source, rng.uniform(2500, 3500), rng.uniform(4000, 7800)) * rng.uniform(0.0, 0.3)
    t = np.linspace(0, 1, n, dtype=np.float32)
    peak_at = rng.uniform(0.05, 0.35)
    envelope = np.where(t < peak_at, (t / peak_at) ** rng.uniform(0.3, 1.5),
                        ((1 - t) / (1 - peak_at)) ** rng.uniform(1.0, 3.0))
    return (out * envelope).astype(np.float32)


def synth_sniff(rng: np.random.Generator) -> np.ndarray:
    """A quick inhale through the nose: 100-350 ms of bright, narrow hiss, sometimes in two pulls."""
    duration_s = rng.uniform(0.1, 0.35)
    n = int(duration_s * SR)
    centre = rng.uniform(1500, 5000)
    out = _bandpass(_noise(rng, n, colour=rng.uniform(0.0, 0.8)), centre * 0.6, centre * 1.6, order=3)
    t = np.linspace(0, 1, n, dtype=np.float32)
    envelope = np.maximum(np.sin(np.pi * t), 0.0) ** rng.uniform(0.5, 2.0)
    if rng.random() < 0.4:
        envelope = envelope * (0.35 + 0.65 * np.abs(np.sin(2 * np.pi * t)))
    return (out * envelope).astype(np.float32)


def synth_breath(rng: np.random.Generator) -> np.ndarray:
    """Any synthesized breath: mouth inhale, open-mouth exhale or nose sniff."""
    kind = rng.random()
    if kind < 0.55:
        return synth_inhale(rng)
    if kind < 0.85:
        return synth_exhale(rng)
    return synth_sniff(rng)


def synth_random_breath(rng: np.random.Generator) -> np.ndarray:
    """A breath of random timbre: domain randomisation so that no one timbre is a shortcut.

    Air noise (random colour, sometimes rough) is shaped by a random resonance bank on a
    log-frequency axis: 1-6 resonances anywhere from 150 Hz to 7 kHz, each from broad
    (a vowel formant) to narrow (a nasal or lip whistle; Q up to 40), over a floor with random
    spectral tilt. The bank glides between a start and an end shape (the vocal tract moves
    during a breath), sometimes with a jittered whistle tone, under a random envelope: swell,
    fade, plateau or two pulls. Every recorded breath is one point in this space; the model
    should learn the space (air noise between words), not the points it heard.
    """
    duration_s = rng.uniform(0.12, 1.0)
    n = int(duration_s * SR)
    nfft = 512
    hop = nfft // 4
    source = _noise(rng, n + nfft, colour=rng.uniform(0.0, 2.0))
    if rng.random() < 0.3:  # rough, flow-modulated turbulence
        control = _noise(rng, n + nfft, colour=2.0)
        source = source * (1.0 + rng.uniform(0.2, 0.9) * np.tanh(control)).astype(np.float32)
    _, _, spec = sps.stft(source, fs=SR, nperseg=nfft, noverlap=nfft - hop)
    freqs = np.fft.rfftfreq(nfft, 1.0 / SR)
    log_f = np.log2(np.maximum(freqs, 50.0))
    shapes = []
    count = int(rng.integers(1, 7))
    centres = np.exp(rng.uniform(np.log(150.0), np.log(7000.0), size=count))
    qs = np.exp(rng.uniform(np.log(0.7), np.log(40.0), size=count))
    gains_db = rng.uniform(0.0, 30.0, size=count)
    tilt_db_per_octave = rng.uniform(-9.0, 4.0)
    floor_db = rng.uniform(-35.0, 0.0)
    glide = np.exp(rng.normal(0.0, 0.12, size=count)) if rng.random() < 0.6 else np.ones(count)
    for factor in (np.ones(count), glide):
        shape_db = floor_db + tilt_db_per_octave * (log_f - np.log2(1000.0))
        peak_db = np.full(freqs.shape, -80.0)
        for centre, q, gain_db in zip(centres * factor, qs, gains_db, strict=True):
            bandwidth = centre / q
            peak_db = np.maximum(peak_db, gain_db - 10 * np.log10(1 + ((freqs - centre) / (bandwidth / 2)) ** 2))
        shapes.append(np.logaddexp(shape_db / 8.686, peak_db / 8.686) * 8.686)
    along = np.linspace(0.0, 1.0, spec.shape[1])[None, :]
    envelope_db = shapes[0][:, None] * (1 - along) + shapes[1][:, None] * along
    envelope_db[freqs < rng.uniform(60, 250)] -= 30.0
    shaped = sps.istft(spec * 10 ** (envelope_db / 20), fs=SR, nperseg=nfft, noverlap=nfft - hop)[1][:n]
    out = np.asarray(shaped, dtype=np.float32)
    out /= rms(out) + 1e-12
    if rng.random() < 0.2:  # a whistle through teeth or nose, its pitch wandering
        start_hz = rng.uniform(500, 4000)
        drift = np.cumsum(rng.normal(0.0, 1.0, n)) / np.sqrt(n) * rng.uniform(0.0, 0.1)
        phase = 2 * np.pi * np.cumsum(start_hz * np.exp(drift)) / SR
        out += (np.sin(phase) * np.sqrt(2) * 10 ** (rng.uniform(-20, 0) / 20)).astype(np.float32)
    out *= _breath_envelope(rng, n)
    return out.astype(np.float32)


def _breath_envelope(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random breath envelope ``(n,)``: swell, quick onset and fade, plateau, or two pulls."""
    t = np.linspace(0, 1, n, dtype=np.float32)
    kind = rng.random()
    if kind < 0.7:
        peak_at = rng.uniform(0.05, 0.8)
        rise = (t / peak_at) ** rng.uniform(0.3, 2.5)
        fall = ((1 - t) / (1 - peak_at)) ** rng.uniform(0.3, 3.0)
        envelope = np.where(t < peak_at, rise, fall)
    elif kind < 0.85:
        edge = rng.uniform(0.05, 0.3)
        envelope = np.clip(np.minimum(t, 1 - t) / edge, 0.0, 1.0)
    else:
        split = rng.uniform(0.3, 0.7)
        envelope = np.where(t < split, np.sin(np.pi * t / split), np.sin(np.pi * (t - split) / (1 - split)))
        envelope = np.abs(envelope) * np.where(t < split, 1.0, rng.uniform(0.4, 1.0))
    if rng.random() < 0.5:
        wobble = 1 + rng.uniform(0.05, 0.35) * np.sin(2 * np.pi * rng.uniform(2, 12) * t * n / SR
                                                      + rng.uniform(0, 6))
        envelope = envelope * wobble
    return np.asarray(envelope, dtype=np.float32)


def reshape_breath(rng: np.random.Generator, clip: np.ndarray) -> np.ndarray:
    """A recorded breath made into another: new length and pitch, EQ, envelope and added air noise."""
    factor = rng.uniform(0.5, 2.0)
    out = sps.resample(clip, max(16, int(clip.shape[0] * factor))).astype(np.float32)
    for _ in range(int(rng.integers(1, 4))):
        out = _peaking(out, rng.uniform(200, 6000), rng.uniform(-12, 12), rng.uniform(0.5, 3.0))
    n = out.shape[0]
    if rng.random() < 0.6:
        envelope = np.abs(sps.hilbert(out)).astype(np.float32)
        width = max(1, int(0.01 * SR))
        envelope = np.convolve(envelope, np.ones(width, dtype=np.float32) / width, mode="same")
        air = _bandpass(_noise(rng, n, colour=rng.uniform(0, 1)), rng.uniform(300, 1500), rng.uniform(3000, 7800))
        air = air / (rms(air) + 1e-9) * envelope * rng.uniform(0.3, 2.0)
        out = out + air
    t = np.linspace(0, 1, n, dtype=np.float32)
    out = out * (t ** rng.uniform(0.0, 1.0)) * ((1 - t) ** rng.uniform(0.0, 1.0))
    return out.astype(np.float32)


def synth_click(rng: np.random.Generator) -> np.ndarray:
    """A mouth click or lip smack: a 1-12 ms burst, damped resonance or filtered impulse."""
    n = int(rng.uniform(0.001, 0.012) * SR) + 2
    t = np.arange(n) / SR
    kind = rng.random()
    if kind < 0.45:
        freq = rng.uniform(1500, 7000)
        burst = np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)) * np.exp(-t / rng.uniform(0.0005, 0.004))
    elif kind < 0.8:
        burst = _noise(rng, n) * np.exp(-t / rng.uniform(0.0005, 0.003))
        burst = _bandpass(burst, rng.uniform(800, 2500), rng.uniform(4000, 7800))
    else:
        burst = np.zeros(n)
        burst[0] = 1.0
        burst[1] = -rng.uniform(0.3, 1.0)
    burst = np.asarray(burst, dtype=np.float32)
    if rng.random() < 0.3:  # double click (tongue release after lip smack)
        gap = np.zeros(int(rng.uniform(0.003, 0.03) * SR), dtype=np.float32)
        burst = np.concatenate([burst, gap, burst[::-1] * rng.uniform(0.3, 1.0)])
    return burst / (np.max(np.abs(burst)) + 1e-9)


def synth_bump(rng: np.random.Generator) -> np.ndarray:
    """A mic bump or stand knock: a low thump (20-200 Hz) with an optional contact transient."""
    duration_s = rng.uniform(0.06, 0.45)
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    freq = rng.uniform(20, 200)
    thump = np.sin(2 * np.pi * freq * t * (1 - 0.3 * t / duration_s)) * np.exp(-t / (duration_s / rng.uniform(2, 6)))
    thump += 0.4 * _bandpass(_noise(rng, n, colour=2.0), 20, 400) * np.exp(-t / (duration_s / 3))
    attack = min(n, int(rng.uniform(0.001, 0.01) * SR))
    thump[:attack] *= np.linspace(0, 1, attack)
    if rng.random() < 0.6:
        contact = min(n, int(0.004 * SR))
        thump[:contact] += _noise(rng, contact) * rng.uniform(0.1, 0.6) * np.exp(-np.arange(contact) / 20.0)
    thump = np.asarray(thump, dtype=np.float32)
    return thump / (np.max(np.abs(thump)) + 1e-9)


def synth_handling_noise(rng: np.random.Generator) -> np.ndarray:
    """Cable rustle, paper, clothing: band-limited noise with an irregular envelope."""
    duration_s = rng.uniform(0.15, 1.5)
    n = int(duration_s * SR)
    low = rng.uniform(100, 2000)
    out = _bandpass(_noise(rng, n, colour=rng.uniform(0, 1.5)), low, low * rng.uniform(2, 8))
    control = np.abs(_noise(rng, max(4, int(duration_s * rng.uniform(10, 40))), colour=1.0))
    envelope = np.interp(np.linspace(0, 1, n), np.linspace(0, 1, control.shape[0]), control)
    fade = min(n // 2, int(0.02 * SR))
    envelope[:fade] *= np.linspace(0, 1, fade)
    envelope[n - fade:] *= np.linspace(1, 0, fade)
    out = out * envelope.astype(np.float32)
    return (out / (np.max(np.abs(out)) + 1e-9)).astype(np.float32)


def room_tone(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS background: coloured noise, sometimes with mains hum and a fan tone."""
    tone = _noise(rng, n, colour=rng.uniform(0.3, 1.8))
    if rng.random() < 0.3:
        tone = _peaking(tone, rng.uniform(100, 3000), rng.uniform(-8, 8), rng.uniform(0.5, 3))
    if rng.random() < 0.4:
        t = np.arange(n) / SR
        mains = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6))
                  for k in range(1, int(rng.integers(2, 8))))
        tone = tone + np.asarray(hum, dtype=np.float32) * rng.uniform(0.3, 3.0)
    return (tone / (rms(tone) + 1e-12)).astype(np.float32)


def room_impulse(rng: np.random.Generator) -> np.ndarray:
    """A small room: direct sound plus an exponentially decaying noise tail (RT60 0.05-0.5 s)."""
    rt60_s = rng.uniform(0.05, 0.5)
    n = int(rt60_s * SR)
    t = np.arange(n) / SR
    tail = _noise(rng, n) * np.exp(-6.9 * t / rt60_s)
    tail = _bandpass(tail, 80, rng.uniform(3000, 7500))
    impulse = np.zeros(n, dtype=np.float32)
    impulse[0] = 1.0
    return (impulse + tail * rng.uniform(0.005, 0.05)).astype(np.float32)


def mic_colouring(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """A random microphone and preamp: high-pass, presence and proximity bumps, sometimes a phone band."""
    cutoff = rng.uniform(20, 120)
    out = sps.sosfilt(sps.butter(2, cutoff, btype="highpass", fs=SR, output="sos"), x)
    for _ in range(int(rng.integers(1, 4))):
        out = _peaking(out, rng.uniform(80, 7000), rng.uniform(-6, 6), rng.uniform(0.4, 2.5))
    if rng.random() < 0.15:
        top = rng.uniform(3400, 7000)
        out = sps.sosfilt(sps.butter(6, top, btype="lowpass", fs=SR, output="sos"), out)
    return np.asarray(out, dtype=np.float32)
