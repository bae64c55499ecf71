"""A procedural piano: each string a sum of decaying, stretched partials; a new instrument per item.

The transcriber has heard two sampled pianos (FluidR3 and FreePats) and must work on pianos it has
never heard (the validation soundfont, the user's recording). Sample sets differ in exactly the
things a small network can latch on to: the balance of the partials, how far they are stretched
(inharmonicity), how fast each decays (and in two stages), how the unison strings beat, the hammer's
knock, how the dampers stop a note and what a re-struck, still-ringing key sounds like. Drawing those
at random per training item from physically plausible ranges (:func:`random_piano`) is domain
randomisation: the network has to learn what every piano shares, a hammer exciting a stretched
harmonic series that then decays, rather than one recording's timbre.

The model (after Fletcher and Rossing, *The Physics of Musical Instruments*, ch. 12): partial ``n`` of
a key with fundamental ``f0`` sounds at ``n f0 sqrt(1 + B n^2)``; its amplitude follows the hammer's
striking point (a comb, ``|sin(pi n x)|``), a velocity-dependent roll-off (harder blows are brighter)
and, in the bass, a weak fundamental (small soundboard radiation); its energy decays as a sum of a
fast "prompt" and a slow "aftersound" exponential, faster for higher partials; unison strings tuned a
few cents apart modulate each partial's level (beats). A key release lowers the damper (the note dies
in tens of milliseconds, except the undamped top octaves); a re-strike of a ringing key cuts the old
vibration short while the new blow starts. Everything is rendered directly at the model's rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from models.synth.compositions import Performance

#: Partials stop below this share of the Nyquist frequency (no aliasing).
NYQUIST_SHARE = 0.95
MAX_PARTIALS = 48
#: A partial is rendered until its level falls this far under the note's strongest partial.
FLOOR_DB = -80.0
#: Envelopes are computed every this many samples and interpolated (they are smooth).
ENVELOPE_HOP = 32


@dataclass(frozen=True)
class PianoVoice:
    """One random piano: every parameter the renderer draws per instrument (see :func:`random_piano`)."""

    tuning_cents: float
    #: Inharmonicity coefficient at C4, how many times it doubles per octave above (treble strings
    #: are short and stiff) and per octave below C3 (wound bass strings).
    inharmonicity_c4: float
    inharmonicity_treble_doublings: float
    inharmonicity_bass_doublings: float
    #: Striking point as a fraction of the string length (1/7 to 1/9 on real pianos).
    hammer_position: float
    #: Partial amplitude roll-off exponent at full velocity, and how much steeper at the softest.
    rolloff: float
    soft_rolloff_extra: float
    #: Spectral brightness at full velocity (an exponential fall above it).
    brightness_hz: float
    #: Below this frequency partials radiate weakly (a second-order high-pass on partial amplitudes).
    radiation_highpass_hz: float
    #: Aftersound T60 of the fundamental at A0 and at C8.
    t60_low_s: float
    t60_high_s: float
    #: Partials decay faster above this frequency (T60 divided by 1 + (f / f_d)^exponent, relative to
    #: the fundamental's).
    decay_corner_hz: float
    decay_exponent: float
    #: Prompt decay time as a share of the aftersound's, and the prompt part's share of the level.
    prompt_ratio: float
    prompt_weight: float
    #: Largest beating modulation depth of a partial, and the unison detuning in cents.
    beat_depth: float
    detune_cents: float
    #: Damper decay time constant after a key release; keys from this pitch up have no damper.
    damper_tau_s: float
    undamped_from: int
    #: Hammer knock level under the note, its decay time constant and low-pass corner at full velocity.
    knock_db: float
    knock_tau_s: float
    knock_lowpass_hz: float
    #: Level = (velocity / 127) ** gamma.
    velocity_gamma: float
    #: Attack ramp length.
    attack_s: float
    #: How fast a re-struck key's previous vibration is cut (time constant).
    restrike_tau_s: float


def random_piano(rng: np.random.Generator) -> PianoVoice:
    """A physically plausible piano with every parameter drawn at random (ranges from the literature,
    widened so that the sampled pianos the model is validated on lie well inside)."""
    def log_uniform(low: float, high: float) -> float:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    return PianoVoice(
        tuning_cents=float(rng.uniform(-15, 15)),
        inharmonicity_c4=log_uniform(1.5e-4, 1.2e-3),
        inharmonicity_treble_doublings=float(rng.uniform(0.9, 1.6)),
        inharmonicity_bass_doublings=float(rng.uniform(0.0, 0.8)),
        hammer_position=float(rng.uniform(1 / 9.5, 1 / 6.5)),
        rolloff=float(rng.uniform(0.4, 1.4)),
        soft_rolloff_extra=float(rng.uniform(0.3, 1.5)),
        brightness_hz=log_uniform(1500, 8000),
        radiation_highpass_hz=log_uniform(40, 160),
        t60_low_s=float(rng.uniform(8, 25)),
        t60_high_s=float(rng.uniform(0.3, 1.5)),
        decay_corner_hz=log_uniform(600, 4000),
        decay_exponent=float(rng.uniform(0.8, 2.0)),
        prompt_ratio=float(rng.uniform(0.08, 0.4)),
        prompt_weight=float(rng.uniform(0.3, 0.85)),
        beat_depth=float(rng.uniform(0.0, 0.7)),
        detune_cents=float(rng.uniform(0.2, 3.0)),
        damper_tau_s=float(rng.uniform(0.015, 0.12)),
        undamped_from=int(rng.integers(84, 97)),
        knock_db=float(rng.uniform(-40, -15)),
        knock_tau_s=float(rng.uniform(0.002, 0.015)),
        knock_lowpass_hz=log_uniform(800, 6000),
        velocity_gamma=float(rng.uniform(1.5, 2.8)),
        attack_s=float(rng.uniform(0.0005, 0.004)),
        restrike_tau_s=float(rng.uniform(0.005, 0.08)),
    )


def inharmonicity(piano: PianoVoice, pitch: int) -> float:
    """The string stiffness coefficient B of key ``pitch`` (MIDI)."""
    if pitch >= 48:
        return piano.inharmonicity_c4 * 2.0 ** (piano.inharmonicity_treble_doublings * (pitch - 60) / 12)
    at_c3 = piano.inharmonicity_c4 * 2.0 ** (-piano.inharmonicity_treble_doublings)
    return at_c3 * 2.0 ** (piano.inharmonicity_bass_doublings * (48 - pitch) / 12)


def partial_frequencies(piano: PianoVoice, pitch: int, sr: int) -> np.ndarray:
    """Frequencies (Hz) of the key's partials below the Nyquist limit, stretched by inharmonicity."""
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12 + piano.tuning_cents / 1200)
    n = np.arange(1, MAX_PARTIALS + 1, dtype=np.float64)
    freqs = n * f0 * np.sqrt(1 + inharmonicity(piano, pitch) * n**2)
    return np.asarray(freqs[freqs < NYQUIST_SHARE * sr / 2])


@dataclass(frozen=True)
class _Strike:
    """One note as the renderer plays it: when the hammer falls and how its sound ends."""

    pitch: int
    start_s: float
    #: Where the damper (or the next blow on the same key) starts stopping the string.
    stop_s: float
    velocity: int
    #: Time constant of the stop; ``inf`` for undamped keys.
    stop_tau_s: float


def _strikes(performance: Performance, piano: PianoVoice) -> list[_Strike]:
    """The performance's sounding notes with how each one stops: damper, re-strike or no damper."""
    notes = sorted(performance.sounding_notes(), key=lambda n: (n.pitch, n.start_s))
    strikes = []
    for k, note in enumerate(notes):
        following = notes[k + 1] if k + 1 < len(notes) else None
        restruck = following is not None and following.pitch == note.pitch and following.start_s <= note.end_s + 1e-6
        if restruck:
            tau = piano.restrike_tau_s
        elif note.pitch >= piano.undamped_from:
            tau = float("inf")
        else:
            tau = piano.damper_tau_s
        strikes.append(_Strike(note.pitch, note.start_s, max(note.end_s, note.start_s + 0.005), note.velocity, tau))
    return strikes


def _note(strike: _Strike, piano: PianoVoice, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Samples of one struck string from its onset to its end (the caller places them)."""
    freqs = partial_frequencies(piano, strike.pitch, sr)
    n = np.arange(1, freqs.shape[0] + 1)
    loud = strike.velocity / 127.0
    rolloff = piano.rolloff + (1 - loud) * piano.soft_rolloff_extra
    brightness = piano.brightness_hz * (0.3 + 0.7 * loud)
    comb = np.abs(np.sin(np.pi * n * piano.hammer_position)) + 0.05
    radiation = (freqs / (freqs + piano.radiation_highpass_hz)) ** 2
    amps = comb * n ** (-rolloff) * np.exp(-freqs / brightness) * radiation
    amps *= loud ** piano.velocity_gamma / np.sqrt(np.sum(amps**2))

    position = (strike.pitch - 21) / 87
    t60_fundamental = piano.t60_low_s * (piano.t60_high_s / piano.t60_low_s) ** position
    # Higher partials decay faster than the key's fundamental, whose T60 the key curve gives.
    damping = 1 + (freqs / piano.decay_corner_hz) ** piano.decay_exponent
    tau_slow = t60_fundamental / 6.91 * damping[0] / damping
    tau_fast = tau_slow * piano.prompt_ratio
    # Length of each partial: its natural decay to the floor, or the stop's decay to it.
    headroom = np.maximum(0.0, np.log(amps / amps.max()) - FLOOR_DB / 20 * np.log(10))
    natural_s = tau_slow * headroom
    sounding_s = strike.stop_s - strike.start_s
    if np.isfinite(strike.stop_tau_s):
        natural_s = np.minimum(natural_s, sounding_s + strike.stop_tau_s * headroom)
    lengths = np.minimum(np.ceil(natural_s * sr).astype(int), int(30 * sr))
    total = int(lengths.max()) if lengths.size else 0
    out = np.zeros(total, dtype=np.float64)
    if total == 0:
        return out.astype(np.float32)

    coarse_t = np.arange(0, total + ENVELOPE_HOP, ENVELOPE_HOP) / sr
    stop = np.ones_like(coarse_t)
    if np.isfinite(strike.stop_tau_s):
        after = coarse_t > sounding_s
        stop[after] = np.exp(-(coarse_t[after] - sounding_s) / strike.stop_tau_s)
    attack = np.minimum(1.0, coarse_t / piano.attack_s)
    beats_hz = freqs * (2 ** (rng.uniform(-1, 1, freqs.shape[0]) * piano.detune_cents / 1200) - 1)
    # Keys below A1 have a single string: nothing to beat against.
    count = freqs.shape[0]
    depths = np.asarray(rng.uniform(0, piano.beat_depth, count)) if strike.pitch >= 33 else np.zeros(count)
    beat_phase = np.asarray(rng.uniform(0, 2 * np.pi, freqs.shape[0]))
    phases = np.asarray(rng.uniform(0, 2 * np.pi, freqs.shape[0]))
    fine_t = np.arange(total) / sr
    for k in range(freqs.shape[0]):
        length = int(lengths[k])
        if length <= 0:
            continue
        decay = (piano.prompt_weight * np.exp(-coarse_t / tau_fast[k])
                 + (1 - piano.prompt_weight) * np.exp(-coarse_t / tau_slow[k]))
        envelope = amps[k] * attack * stop * decay
        if depths[k] > 0:
            envelope *= 1 - depths[k] * (0.5 - 0.5 * np.cos(2 * np.pi * beats_hz[k] * coarse_t + beat_phase[k]))
        fine = np.interp(fine_t[:length], coarse_t, envelope)
        out[:length] += fine * np.sin(2 * np.pi * freqs[k] * fine_t[:length] + phases[k])

    knock_len = min(total, int(piano.knock_tau_s * 8 * sr))
    if knock_len > 8:
        knock = rng.standard_normal(knock_len) * np.exp(-fine_t[:knock_len] / piano.knock_tau_s)
        corner = min(0.45 * sr, piano.knock_lowpass_hz * (0.3 + 0.7 * loud))
        b, a = signal.butter(2, corner, fs=sr)
        knock = signal.lfilter(b, a, knock)
        level = float(np.sqrt(np.mean(out[: int(0.05 * sr)] ** 2))) + 1e-12
        knock *= level * 10 ** (piano.knock_db / 20) / (float(np.sqrt(np.mean(knock**2))) + 1e-12)
        out[:knock_len] += knock
    return out.astype(np.float32)


def render_additive(performance: Performance, *, sr: int, piano: PianoVoice, rng: np.random.Generator,
                    tail_s: float = 1.0) -> np.ndarray:
    """Mono float32 samples at ``sr`` of ``performance`` on ``piano`` (level follows the velocities),
    covering the performance plus ``tail_s``."""
    length = round((performance.duration_s + tail_s) * sr)
    out = np.zeros(length, dtype=np.float32)
    for strike in _strikes(performance, piano):
        start = round(strike.start_s * sr)
        if start >= length:
            continue
        samples = _note(strike, piano, sr, rng)[: length - start]
        out[start:start + samples.shape[0]] += samples
    return out


__all__ = ["PianoVoice", "inharmonicity", "partial_frequencies", "random_piano", "render_additive"]
