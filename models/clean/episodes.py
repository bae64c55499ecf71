"""Synthetic podcast episodes with exact frame labels, for training and the benchmark.

An episode alternates utterances and gaps of every length; gaps hold breaths
(often touching the next word), mouth clicks (often at a word's edge), mic
bumps and handling noise. Speech and mouth sounds share one room and one
microphone; bumps reach the mic mechanically and skip the room. Levels span
-40..-10 dBFS with room tone 25-65 dB below speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from models.clean import sounds
from models.clean.features import frame_count
from models.clean.labels import ANALYSIS_SR, BREATH, BUMP, CLICK, HOP, NOISE, PAUSE, SPEECH
from models.clean.sources import Material, trim_silence

SR = ANALYSIS_SR
#: Label priority when sounds overlap inside one sample: the rarer, shorter sound wins.
_PRIORITY = (PAUSE, SPEECH, BREATH, NOISE, BUMP, CLICK)
_RANK = {cls: rank for rank, cls in enumerate(_PRIORITY)}
#: A breath or noise frame quieter than the room tone times this is labelled a pause: a fading
#: breath tail buried in room tone is not something a listener (or a detector) can hear.
INAUDIBLE_RATIO = 0.7


@dataclass(frozen=True)
class Episode:
    """``audio`` mono float32 at 16 kHz, ``labels`` one class id per 10 ms frame."""

    audio: np.ndarray
    labels: np.ndarray


#: Depth under an utterance's loudest 10 ms frame from which its edges are trimmed and a run of
#: 120 ms or more inside it is a pause, for voices synthesised over digital silence.
SILENCE_TRIM_DB = 50.0
SILENCE_PAUSE_DB = 45.0
#: For voices whose synthesis leaves a noise floor (:attr:`Material.floor_labelled`), both depths
#: are taken this far over the clip's own floor (its 5th percentile of frame energy) instead, and
#: never shallower than :data:`FLOOR_LABEL_MIN_DB`: with a floor 48 dB down, a 45 dB rule finds no
#: pause between phrases and labels the floor at the clip's ends speech, which teaches a detector
#: to hold on to speech into the pauses around it.
FLOOR_LABEL_MARGIN_DB = 10.0
FLOOR_LABEL_MIN_DB = 35.0
#: Speed factors of a speed-perturbed utterance (:attr:`Material.speed_perturb`), as in Ko et al. 2015.
SPEED_PERTURB_RANGE = (0.9, 1.1)


def _frame_energy_db(clip: np.ndarray) -> np.ndarray:
    hop = SR // 100
    count = clip.shape[0] // hop
    return 10 * np.log10(np.mean(clip[: count * hop].reshape(count, hop) ** 2, axis=1) + 1e-12)


def label_depths(clip: np.ndarray, *, floor_relative: bool) -> tuple[float, float]:
    """dB under the clip's loudest frame at which its edges are trimmed and its pauses begin."""
    if not floor_relative or clip.shape[0] < 3 * (SR // 100):
        return SILENCE_TRIM_DB, SILENCE_PAUSE_DB
    energy = _frame_energy_db(clip)
    floor_depth = float(energy.max() - np.percentile(energy, 5.0)) - FLOOR_LABEL_MARGIN_DB
    return (float(np.clip(floor_depth, FLOOR_LABEL_MIN_DB, SILENCE_TRIM_DB)),
            float(np.clip(floor_depth, FLOOR_LABEL_MIN_DB, SILENCE_PAUSE_DB)))


def trimmed_utterance(clip: np.ndarray, *, floor_relative: bool = False) -> tuple[np.ndarray, float]:
    """A voice clip as an episode uses it (edges trimmed), and the depth of its pauses in dB."""
    trim_db, pause_db = label_depths(clip, floor_relative=floor_relative)
    return trim_silence(clip, floor_db=-trim_db), pause_db


def internal_pauses(clip: np.ndarray, *, depth_db: float) -> list[tuple[int, int]]:
    """Sample ranges inside an utterance quiet enough (``depth_db`` under its loudest frame) and
    long enough (>= 120 ms) to be pauses."""
    hop = SR // 100
    if clip.shape[0] // hop < 3:
        return []
    energy = _frame_energy_db(clip)
    quiet = energy < energy.max() - depth_db
    runs = []
    start = None
    for index, flag in enumerate(np.append(quiet, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start >= 12:
                runs.append((start * hop + hop, index * hop - hop))
            start = None
    return runs


class _Timeline:
    """Accumulates the room track, the mechanical track and per-sample label ranks."""

    def __init__(self, n: int) -> None:
        self.room = np.zeros(n, dtype=np.float32)
        self.mech = np.zeros(n, dtype=np.float32)
        self.rank = np.zeros(n, dtype=np.int8)
        self.soft_power = np.zeros(n, dtype=np.float32)  # breaths and noise, to judge audibility

    @property
    def n(self) -> int:
        return int(self.room.shape[0])

    def add(self, clip: np.ndarray, at: int, cls: int, *, mechanical: bool = False) -> None:
        at = max(0, at)
        end = min(self.n, at + clip.shape[0])
        if end <= at:
            return
        target = self.mech if mechanical else self.room
        target[at:end] += clip[: end - at]
        if cls in (BREATH, NOISE):
            self.soft_power[at:end] += clip[: end - at] ** 2
        self.label(at, end, cls)

    def label(self, start: int, end: int, cls: int) -> None:
        segment = self.rank[max(0, start):min(self.n, end)]
        np.maximum(segment, _RANK[cls], out=segment)

    def clear_to_pause(self, start: int, end: int) -> None:
        segment = self.rank[max(0, start):min(self.n, end)]
        segment[segment == _RANK[SPEECH]] = _RANK[PAUSE]


def _training_breath(material: Material, rng: np.random.Generator) -> np.ndarray:
    """Recorded (or whispered) breaths from a random source, mostly reshaped into new timbres,
    a domain-randomised breath, or a synthesized inhale, exhale or sniff."""
    pools = [pool for pool in material.breaths if len(pool)]
    pick = rng.random()
    if pools and pick < 0.55 * (1 - material.random_breath_share):
        pool = pools[int(rng.integers(len(pools)))]
        clip = pool.clip(int(rng.integers(len(pool))))
        return sounds.reshape_breath(rng, clip) if rng.random() < 0.8 else clip
    if pick > 1 - material.random_breath_share:
        return trim_silence(sounds.synth_random_breath(rng), floor_db=-40.0)
    return trim_silence(sounds.synth_breath(rng), floor_db=-40.0)


def _breath(material: Material, rng: np.random.Generator) -> np.ndarray:
    if material.augment_breaths:
        return _training_breath(material, rng)
    # Evaluation: kept exactly as the benchmark episodes were rendered (one breath pool).
    breaths = material.breaths[0] if material.breaths else None
    if rng.random() < material.recorded_breath_share and breaths is not None and len(breaths):
        clip = breaths.clip(int(rng.integers(len(breaths))))
        if rng.random() < 0.5:  # vary length and pitch by resampling
            factor = rng.uniform(0.6, 1.6)
            clip = sps.resample(clip, max(16, int(clip.shape[0] * factor))).astype(np.float32)
        return clip
    return trim_silence(sounds.synth_inhale(rng), floor_db=-40.0)


def _fill_gap(tl: _Timeline, material: Material, rng: np.random.Generator, *, gap_start: int, gap_end: int,
              speech_rms: float, speech_peak: float) -> None:
    """Put breaths, clicks, bumps and noise into one gap (sometimes touching its edges)."""
    gap = gap_end - gap_start
    if gap > 0.12 * SR and rng.random() < 0.55:
        clip = _breath(material, rng)
        clip = clip[: max(0, gap - int(0.01 * SR))]
        if clip.shape[0] > 0.06 * SR:
            quietest_db = -35.0 if material.augment_breaths else -30.0
            clip = clip / (sounds.rms(clip) + 1e-9) * speech_rms * 10 ** (rng.uniform(quietest_db, -8) / 20)
            where = rng.random()
            if where < 0.5:  # inhale right before the next word
                at = gap_end - clip.shape[0] - int(rng.uniform(0, 0.04) * SR)
            elif where < 0.65:  # exhale right after the last word
                at = gap_start + int(rng.uniform(0, 0.04) * SR)
            else:
                at = gap_start + int(rng.integers(0, max(1, gap - clip.shape[0])))
            tl.add(clip, max(gap_start, at), BREATH)
    if rng.random() < 0.35:
        for _ in range(int(rng.integers(1, 4))):
            click = sounds.synth_click(rng) * speech_peak * 10 ** (rng.uniform(-30, -6) / 20)
            if rng.random() < 0.5:  # at a word's edge, up to 10 ms into it
                edge = gap_start if rng.random() < 0.5 else gap_end
                at = edge + int(rng.uniform(-0.01, 0.02) * SR) * (1 if edge == gap_start else -1)
            else:
                at = gap_start + int(rng.integers(0, max(1, gap)))
            tl.add(click, at, CLICK)
    if gap > 0.3 * SR and rng.random() < 0.15:
        bump = sounds.synth_bump(rng)[: gap]
        bump = bump * speech_peak * 10 ** (rng.uniform(-20, 0) / 20)
        tl.add(bump, gap_start + int(rng.integers(0, max(1, gap - bump.shape[0]))), BUMP, mechanical=True)
    if gap > 0.4 * SR and rng.random() < 0.2:
        noise = sounds.synth_handling_noise(rng)[: gap]
        noise = noise * speech_rms * 10 ** (rng.uniform(-30, -10) / 20) / (sounds.rms(noise) + 1e-9)
        tl.add(noise, gap_start + int(rng.integers(0, max(1, gap - noise.shape[0]))), NOISE, mechanical=True)


def _gap_seconds(rng: np.random.Generator) -> float:
    kind = rng.random()
    if kind < 0.45:
        return rng.uniform(0.08, 0.5)
    if kind < 0.6:
        return rng.uniform(0.5, 0.8)
    return rng.uniform(0.8, 3.2)


def compose_episode(material: Material, rng: np.random.Generator, *, duration_s: float,
                    speech: bool | None = None) -> Episode:
    """One episode: utterances from one or two voices of ``material``, gaps and mouth noises.

    ``speech`` forces an episode with (True) or without (False) speech; by default about 3 % have
    none, drawn from ``rng`` either way so that the rest of the episode is the same.
    """
    n = int(duration_s * SR)
    tl = _Timeline(n)
    names = sorted(material.voices)
    speaker_names = [names[int(i)] for i in rng.choice(len(names), size=2, replace=False)]
    speakers = [material.voices[name] for name in speaker_names]
    two_voices = rng.random() < 0.3
    speaker_gain = [1.0, 10 ** (rng.uniform(-6, 6) / 20)]
    speech_rms, speech_peak = 0.1, 0.5
    drawn_no_speech = rng.random() < 0.03  # drawn even when forced: the rng stream stays the same
    no_speech = drawn_no_speech if speech is None else not speech
    cursor = int(rng.uniform(0.0, 1.5) * SR)
    if not no_speech:
        while cursor < n:
            who = int(two_voices and rng.random() < 0.5)
            pool = speakers[who]
            clip, pause_db = trimmed_utterance(pool.clip(int(rng.integers(len(pool)))),
                                               floor_relative=speaker_names[who] in material.floor_labelled)
            if material.speed_perturb:
                clip = sounds.change_speed(clip, rng.uniform(*SPEED_PERTURB_RANGE))
            clip = clip / (sounds.rms(clip) + 1e-9) * speech_rms * speaker_gain[who]
            clip = clip * 10 ** (rng.uniform(-3, 3) / 20)
            tl.add(clip, cursor, SPEECH)
            for lo, hi in internal_pauses(clip, depth_db=pause_db):
                tl.clear_to_pause(cursor + lo, cursor + hi)
            gap_start = cursor + clip.shape[0]
            gap_end = gap_start + int(_gap_seconds(rng) * SR)
            _fill_gap(tl, material, rng, gap_start=gap_start, gap_end=min(gap_end, n), speech_rms=speech_rms,
                      speech_peak=speech_peak)
            cursor = gap_end
    else:
        for start in range(0, n, SR):
            _fill_gap(tl, material, rng, gap_start=start, gap_end=min(n, start + SR), speech_rms=speech_rms,
                      speech_peak=speech_peak)
    return _record(tl, rng, speech_rms=speech_rms)


def _record(tl: _Timeline, rng: np.random.Generator, *, speech_rms: float) -> Episode:
    """Room, microphone, room tone and gain: the dry timeline as a recorder would hear it."""
    wet = sps.fftconvolve(tl.room, sounds.room_impulse(rng))[: tl.n].astype(np.float32)
    mixed = sounds.mic_colouring(rng, wet + tl.mech)
    tone = sounds.room_tone(rng, tl.n)
    tone_rms = speech_rms * 10 ** (-rng.uniform(25, 65) / 20)
    mixed += tone * tone_rms
    level_dbfs = rng.uniform(-40, -10)
    mixed *= 10 ** (level_dbfs / 20) / speech_rms
    if rng.random() < 0.04:  # an overdriven recording
        mixed = np.clip(mixed * 10 ** (rng.uniform(6, 20) / 20), -1.0, 1.0)
    labels = frame_labels(tl.rank)
    labels[(np.isin(labels, (BREATH, NOISE))) & (_frame_rms(tl.soft_power) < INAUDIBLE_RATIO * tone_rms)] = PAUSE
    return Episode(audio=np.clip(mixed, -1.0, 1.0).astype(np.float32), labels=labels)


def _frame_rms(power: np.ndarray) -> np.ndarray:
    count = frame_count(power.shape[0])
    padded = np.zeros(count * HOP, dtype=np.float32)
    padded[: power.shape[0]] = power
    return np.sqrt(padded.reshape(count, HOP).mean(axis=1))


def frame_labels(rank: np.ndarray) -> np.ndarray:
    """Per-sample ranks to one class per hop: a click anywhere in a hop wins, else the
    highest-priority class covering at least 40 % of it."""
    count = frame_count(rank.shape[0])
    padded = np.zeros(count * HOP, dtype=np.int8)
    padded[: rank.shape[0]] = rank
    hops = padded.reshape(count, HOP)
    labels = np.full(count, PAUSE, dtype=np.int8)
    for cls in _PRIORITY[1:]:
        share = np.mean(hops == _RANK[cls], axis=1)
        enough = share > 0 if cls == CLICK else share >= 0.4
        labels[enough] = cls
    return labels


def showcase_episode(material: Material, *, duration_s: float, first_seed: int = 0) -> tuple[Episode, int]:
    """The first seed's episode that holds speech, a long pause, a breath, a click and a bump
    (for the demo clip: every kind of edit should be visible)."""
    for seed in range(first_seed, first_seed + 500):
        episode = compose_episode(material, np.random.default_rng(seed), duration_s=duration_s)
        present = set(np.unique(episode.labels).tolist())
        long_gap = any(stop - start >= 150 for start, stop in _label_runs(episode.labels != SPEECH))
        if {SPEECH, BREATH, CLICK, BUMP} <= present and long_gap:
            return episode, seed
    raise RuntimeError("no showcase episode found in 500 seeds")


def _label_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))
