"""Benchmark on held-out episodes: our detector + planner against an energy cutter and silero-vad.

All systems are scored on the same 10 ms frame grid against the episodes'
exact labels. The *remove class* is every breath, click, bump and noise frame
plus every frame of a gap (run of non-speech) at least ``LONG_PAUSE_S`` long.
Frames within ``COLLAR_FRAMES`` of a speech/non-speech boundary are not
scored (word edges of synthetic mixes are only exact to a frame or two); a
click (1-2 frames) counts as caught when a removable frame lies within one
frame of it. For each system,
"speech removed" counts speech frames inside the time it would cut, and "short
pauses removed" counts frames of gaps under ``SHORT_PAUSE_S`` inside cuts.
The baselines are pause cutters: they remove non-speech runs of at least
``LONG_PAUSE_S`` less a speech margin, like a classic silence remover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from models.clean.detect import TrackAnalysis, analyse, measure_signal
from models.clean.labels import ANALYSIS_SR, BREATH, BUMP, CLICK, FRAME_S, NOISE, PAUSE, SPEECH
from models.clean.planner import PlanSettings, plan, removable_frames, true_runs
from models.stats import BOOTSTRAP_RESAMPLES, bootstrap_ratio_interval

LONG_PAUSE_S = 0.8
SHORT_PAUSE_S = 0.5
COLLAR_FRAMES = 2
BASELINE_MARGIN_S = 0.06
#: The remove class, scored per class.
REMOVE_CLASSES = ("long pause", "breath", "click", "bump", "noise")


@dataclass(frozen=True)
class SystemOutput:
    """What one system decided on one episode: removable frames and frames it would cut."""

    removable: np.ndarray
    cut: np.ndarray


@dataclass(frozen=True)
class Scores:
    name: str
    precision: float
    recall: float
    recall_by_class: dict[str, float]
    #: Of all missed remove-class frames, the share each class holds (where recall is lost).
    missed_share_by_class: dict[str, float]
    speech_removed: float
    short_pauses_removed: float
    seconds: float
    audio_s: float
    #: Percentile-bootstrap 95 % intervals of precision and recall over episodes.
    precision_interval: tuple[float, float]
    recall_interval: tuple[float, float]
    #: Per episode: remove-class frames found, frames called removable, true remove-class frames.
    #: Kept so that several benchmark runs (held-out draws) can be pooled episode by episode.
    episode_counts: tuple[tuple[int, int, int], ...]
    #: Per remove class: frames found and frames in all (the counts behind ``recall_by_class``).
    class_counts: dict[str, tuple[int, int]]

    @property
    def times_real_time(self) -> float:
        return self.audio_s / self.seconds if self.seconds > 0 else float("inf")


def truth_masks(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Ground-truth frame masks of one episode: remove class, per class, short pauses, scored frames."""
    nonspeech = labels != SPEECH
    long_gap = np.zeros(labels.shape[0], dtype=bool)
    short_gap = np.zeros(labels.shape[0], dtype=bool)
    for start, stop in true_runs(nonspeech):
        seconds = (stop - start) * FRAME_S
        if seconds >= LONG_PAUSE_S:
            long_gap[start:stop] = True
        elif seconds < SHORT_PAUSE_S:
            short_gap[start:stop] = True
    sounds = np.isin(labels, (BREATH, CLICK, BUMP, NOISE))
    is_speech = labels == SPEECH
    change = np.flatnonzero(np.diff(is_speech.astype(np.int8)) != 0)
    edge = np.zeros(labels.shape[0], dtype=bool)
    edge[np.clip(change + 1, 0, labels.shape[0] - 1)] = True
    edge = ndimage.binary_dilation(edge, iterations=COLLAR_FRAMES)
    return {"remove": sounds | (long_gap & (labels == PAUSE)), "long pause": long_gap & (labels == PAUSE),
            "breath": labels == BREATH, "click": labels == CLICK, "bump": labels == BUMP,
            "noise": labels == NOISE, "speech": labels == SPEECH, "short pause": short_gap & (labels == PAUSE),
            "scored": ~edge}


def pause_cutter(nonspeech: np.ndarray) -> SystemOutput:
    """A classic silence remover on a non-speech mask: long runs go, less a margin each side."""
    removable = np.zeros(nonspeech.shape[0], dtype=bool)
    cut = np.zeros(nonspeech.shape[0], dtype=bool)
    margin = round(BASELINE_MARGIN_S / FRAME_S)
    for start, stop in true_runs(nonspeech):
        if (stop - start) * FRAME_S >= LONG_PAUSE_S:
            removable[start:stop] = True
            cut[start + margin:max(start + margin, stop - margin)] = True
    return SystemOutput(removable=removable, cut=cut)


def energy_cutter(audio: np.ndarray, *, below_ref_db: float = 35.0) -> SystemOutput:
    """Frames quieter than the file's speech level minus ``below_ref_db`` are silence."""
    raw = measure_signal(audio)
    reference = float(np.percentile(raw.energy_db, 90.0))
    return pause_cutter(raw.energy_db < reference - below_ref_db)


def silero_cutter(model: Any, *, threshold: float = 0.5) -> Callable[[np.ndarray], SystemOutput]:
    """silero-vad speech probability per 32 ms window, resampled to our 10 ms frames."""
    import torch

    def run(audio: np.ndarray) -> SystemOutput:
        frames = (audio.shape[0] + 159) // 160
        model.reset_states()
        with torch.inference_mode():
            probs = model.audio_forward(torch.from_numpy(audio.astype(np.float32)), ANALYSIS_SR)[0].numpy()
        window_of_frame = np.minimum((np.arange(frames) * 160) // 512, probs.shape[0] - 1)
        return pause_cutter(probs[window_of_frame] < threshold)

    return run


def system_output(analysis: TrackAnalysis, settings: PlanSettings) -> SystemOutput:
    """Our planner's removable frames and cut (or muted) frames for one analysed episode."""
    removable = removable_frames(analysis, settings, long_pause_s=LONG_PAUSE_S)
    edits = plan([analysis], settings)
    cut = np.zeros(analysis.frames, dtype=bool)
    for c in edits.cuts:
        cut[round(c.start_s / FRAME_S):round(c.end_s / FRAME_S)] = True
    for event in edits.events:
        if event.action == "attenuate" and event.gain_db is not None and event.gain_db <= -40:
            cut[round(event.start_s / FRAME_S):round(event.end_s / FRAME_S)] = True
    return SystemOutput(removable=removable, cut=cut)


def our_system(model: Any, settings: PlanSettings) -> Callable[[np.ndarray], SystemOutput]:
    def run(audio: np.ndarray) -> SystemOutput:
        analysis = analyse(measure_signal(audio), model, duration_s=audio.shape[0] / ANALYSIS_SR,
                           sample_rate=ANALYSIS_SR)
        return system_output(analysis, settings)

    return run


def score(name: str, system: Callable[[np.ndarray], SystemOutput], audio: Sequence[np.ndarray],
          labels: Sequence[np.ndarray]) -> Scores:
    import time

    totals: dict[str, float] = {}

    def add(key: str, value: float) -> None:
        totals[key] = totals.get(key, 0.0) + value

    started = time.perf_counter()
    outputs = [system(a) for a in audio]
    seconds = time.perf_counter() - started
    per_episode = np.zeros((len(outputs), 3))  # true positives, predicted, true remove-class frames
    for episode, (output, truth_labels) in enumerate(zip(outputs, labels, strict=True)):
        truth = truth_masks(truth_labels)
        n = min(truth_labels.shape[0], output.removable.shape[0])
        scored = truth["scored"][:n]
        pred = output.removable[:n] & scored
        true = truth["remove"][:n] & scored
        per_episode[episode] = np.sum(pred & true), np.sum(pred), np.sum(true)
        near = ndimage.binary_dilation(output.removable[:n], iterations=1)
        for key in REMOVE_CLASSES:
            mask = truth[key][:n] & scored
            found = near if key == "click" else output.removable[:n]
            add(f"{key} hit", float(np.sum(found & mask)))
            add(f"{key} all", float(np.sum(mask)))
            add(f"{key} missed", float(np.sum(mask & truth["remove"][:n] & ~found)))
        speech = truth["speech"][:n] & scored
        add("speech cut", float(np.sum(output.cut[:n] & speech)))
        add("speech all", float(np.sum(speech)))
        short = truth["short pause"][:n] & scored
        add("short cut", float(np.sum(output.cut[:n] & short)))
        add("short all", float(np.sum(short)))

    def ratio(a: str, b: str) -> float:
        return totals[a] / totals[b] if totals.get(b) else float("nan")

    missed = sum(totals.get(f"{k} missed", 0.0) for k in REMOVE_CLASSES)
    tp, predicted, true_frames = per_episode.T
    precision_interval, recall_interval = remove_class_intervals(per_episode)
    totals.update(tp=float(tp.sum()), pred=float(predicted.sum()), true=float(true_frames.sum()))

    return Scores(name=name, precision=ratio("tp", "pred"), recall=ratio("tp", "true"),
                  recall_by_class={k: ratio(f"{k} hit", f"{k} all")
                                   for k in REMOVE_CLASSES},
                  missed_share_by_class={k: totals[f"{k} missed"] / missed if missed else float("nan")
                                         for k in REMOVE_CLASSES},
                  speech_removed=ratio("speech cut", "speech all"),
                  short_pauses_removed=ratio("short cut", "short all"), seconds=seconds,
                  audio_s=sum(a.shape[0] for a in audio) / ANALYSIS_SR,
                  precision_interval=precision_interval, recall_interval=recall_interval,
                  episode_counts=tuple((int(a), int(b), int(c)) for a, b, c in per_episode),
                  class_counts={k: (int(totals[f"{k} hit"]), int(totals[f"{k} all"])) for k in REMOVE_CLASSES})


def remove_class_intervals(episode_counts: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile-bootstrap 95 % intervals of remove-class precision and recall over episodes.

    ``episode_counts`` rows are (found, called removable, true) frames of one episode; episodes
    are the unit because frames of one recording are not independent draws.
    """
    tp, predicted, true_frames = np.asarray(episode_counts, dtype=float).T
    return (bootstrap_ratio_interval(tp, predicted, rng=np.random.default_rng(0), resamples=BOOTSTRAP_RESAMPLES),
            bootstrap_ratio_interval(tp, true_frames, rng=np.random.default_rng(1), resamples=BOOTSTRAP_RESAMPLES))


def bench_settings() -> PlanSettings:
    """podcast-gentle's detection settings with the benchmark's long-pause length."""
    return PlanSettings(max_pause_ms=LONG_PAUSE_S * 1000, target_pause_ms=500.0)


__all__ = ["Scores", "SystemOutput", "bench_settings", "energy_cutter", "our_system", "pause_cutter",
           "remove_class_intervals", "score", "silero_cutter", "system_output", "truth_masks"]
