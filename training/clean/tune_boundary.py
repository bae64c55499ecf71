"""Word-boundary candidates for the planner, measured on the tuning and leave-one-breath-source-out
check episodes (the held-out episodes are never read); none of them is in the shipped planner.

Run from the repository root: ``python training/clean/tune_boundary.py`` (same pairs as
``tune_events.py``; ``--pair CHECKPOINT:SET`` replaces them). First the diagnosis: the remove-class
frames the shipped planner misses, by distance to the nearest true speech frame and by whether the
cautious speech mask (``speech_threshold``) holds them. Then each candidate re-plans the cached
analyses and prints remove-class precision, recall, breath and long-pause recall, the benchmark's
speech frames cut, and the strict speech count: every true speech frame (the 20 ms collar around
word edges included) touched by a cut or by a ``remove``-mode mute with its one-frame gain ramp.
Results: ``data-cache/clean/runs/tune-boundary.txt``.

Candidates:

- ``breath-over-speech P [L]``: for the breath events only, frames of the cautious mask where the
  detector's breath probability beats its speech probability and the speech probability is under
  P (not labelled speech; with L, also L dB under the speech level) stop counting as speech when
  they connect to a frame labelled breath; cuts and the other events keep the cautious mask.
- ``word-tail P [L]``: frames after the last frame of a word (speech probability >= 0.5 or the
  speech label) inside the cautious mask, labelled pause with a speech probability under P (with L:
  L dB under the speech level), leave the speech mask altogether (reverberant word tails), so the
  pause reaches them and cuts may come ``speech_margin_ms`` from their end; word onsets are untouched.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from unittest import mock

import numpy as np
import torch
from scipy import ndimage
from tune_events import DEFAULT_PAIRS, analyses_of, score_set, split_pair

from models.clean import bench, planner
from models.clean.detect import TrackAnalysis
from models.clean.labels import BREATH, FRAME_S, PAUSE, SPEECH
from models.clean.planner import PlanSettings

#: (name, max speech probability, frames this many dB under the speech level only; None: any level)
BREATH_CANDIDATES = (("breath-over-speech", 0.3, None), ("breath-over-speech", 0.5, None),
                     ("breath-over-speech", 0.5, 20.0), ("breath-over-speech", 0.5, 25.0))
TAIL_CANDIDATES = (("word-tail", 0.4, None), ("word-tail", 0.5, None), ("word-tail", 0.5, 20.0),
                   ("word-tail", 0.5, 30.0))
#: Distance bins (frames from the nearest true speech frame) of the diagnosis; frames under 3 are
#: in the benchmark's collar and never scored.
DISTANCE_BINS = ((3, 5), (5, 9), (9, 13), (13, 21), (21, 10**6))

_ORIGINAL_CLASS_RUNS = planner._class_runs
_ORIGINAL_SPEECH_MASK = planner.speech_mask


def breath_over_speech(max_speech_prob: float, below_db: float | None) -> Callable[..., list]:
    """``planner._class_runs`` whose breath events see the cautious mask less the breath-dominant
    frames connected to a breath-labelled frame."""

    def class_runs(analysis: TrackAnalysis, speech: np.ndarray, cls: int, **options: object) -> list:
        if cls == BREATH:
            probs = analysis.probs
            dominant = ((probs[:, BREATH] > probs[:, SPEECH]) & (probs[:, SPEECH] < max_speech_prob)
                        & (analysis.labels != SPEECH))
            if below_db is not None:
                dominant &= analysis.energy_db < analysis.reference_db - below_db
            seed = analysis.labels == BREATH
            speech = speech & ~(ndimage.binary_propagation(seed, mask=seed | dominant) & dominant)
        return _ORIGINAL_CLASS_RUNS(analysis, speech, cls, **options)  # type: ignore[arg-type]

    return class_runs


def word_tail(max_speech_prob: float, below_db: float | None) -> Callable[[TrackAnalysis, PlanSettings], np.ndarray]:
    """``planner.speech_mask`` without the quiet, pause-labelled tail after each word."""

    def speech_mask(analysis: TrackAnalysis, settings: PlanSettings) -> np.ndarray:
        cautious = _ORIGINAL_SPEECH_MASK(analysis, settings)
        word = planner.pause_extent_speech(analysis, settings)
        tail = (analysis.probs[:, SPEECH] < max_speech_prob) & (analysis.labels == PAUSE)
        if below_db is not None:
            tail &= analysis.energy_db < analysis.reference_db - below_db
        drop = np.zeros_like(cautious)
        for start, stop in planner.true_runs(cautious):
            inside = np.flatnonzero(word[start:stop])
            if inside.size == 0:
                continue
            after = start + int(inside[-1]) + 1
            run = tail[after:stop]
            length = run.size if run.all() else int(np.argmin(run))
            drop[after:after + length] = True
        return cautious & ~drop

    return speech_mask


def strict_speech_touched(analysis: TrackAnalysis, truth: np.ndarray, settings: PlanSettings) -> int:
    """True speech frames (collar included) inside a cut or a ``remove``-mode mute plus its ramp."""
    edits = planner.plan([analysis], dataclasses.replace(settings, breath_mode="remove"))
    touched = np.zeros(analysis.frames, dtype=bool)
    for cut in edits.cuts:
        touched[round(cut.start_s / FRAME_S):round(cut.end_s / FRAME_S)] = True
    for event in edits.events:
        if event.action == "attenuate" and event.gain_db is not None and event.gain_db <= -40:
            touched[max(0, round(event.start_s / FRAME_S) - 1):round(event.end_s / FRAME_S) + 1] = True
    frames = min(truth.shape[0], analysis.frames)
    return int(np.sum(touched[:frames] & (truth[:frames] == SPEECH)))


def diagnose(analyses: list[TrackAnalysis], labels: list[np.ndarray], settings: PlanSettings) -> str:
    """Missed breath and long-pause frames by distance to the nearest word and cautious-mask share."""
    lines = []
    for key in ("breath", "long pause"):
        distances, in_mask = [], []
        for analysis, truth in zip(analyses, labels, strict=True):
            frames = min(truth.shape[0], analysis.frames)
            masks = bench.truth_masks(truth[:frames])
            missed = (masks[key] & masks["scored"]
                      & ~bench.system_output(analysis, settings).removable[:frames])
            speech = truth[:frames] == SPEECH
            distance = ndimage.distance_transform_edt(~speech) if speech.any() else np.full(frames, 1e6)
            distances.append(distance[missed])
            in_mask.append(planner.speech_mask(analysis, settings)[:frames][missed])
        d, m = np.concatenate(distances), np.concatenate(in_mask)
        bins = " ".join(f"{10 * lo}-{10 * hi if hi < 10**6 else 'inf'} ms {int(np.sum((d >= lo) & (d < hi)))}"
                        for lo, hi in DISTANCE_BINS)
        lines.append(f"  missed {key}: {d.size} ({bins}); in the cautious mask {m.mean() if m.size else 0:.2f}")
    return "\n".join(lines)


def cells(loaded: list[tuple[list[TrackAnalysis], list[np.ndarray]]], settings: PlanSettings) -> str:
    out = []
    for analyses, labels in loaded:
        r = score_set(analyses, labels, settings)
        strict = sum(strict_speech_touched(a, t, settings) for a, t in zip(analyses, labels, strict=True))
        out.append(f"P {r.precision:.4f} R {r.recall:.4f} B {r.recall_by_class['breath']:.4f} "
                   f"LP {r.recall_by_class['long pause']:.4f} sp {100 * r.speech_removed:.3f}% strict {strict}")
    return " | ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="word-boundary candidates on tuning and check episodes")
    parser.add_argument("--pair", action="append", default=None, help="DETECTOR:EPISODES (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = []
    settings = bench.bench_settings()
    for pair in args.pair or list(DEFAULT_PAIRS):
        loaded.append(analyses_of(*split_pair(pair)))
        print(f"[{len(loaded)}] {pair}\n{diagnose(*loaded[-1], settings)}", flush=True)
    print(f"shipped planner: {cells(loaded, settings)}", flush=True)
    for name, prob, below in BREATH_CANDIDATES:  # the planner looks both functions up at call time
        with mock.patch.object(planner, "_class_runs", breath_over_speech(prob, below)):
            print(f"{name} {prob:g} {below}: {cells(loaded, settings)}", flush=True)
    for name, prob, below in TAIL_CANDIDATES:
        with mock.patch.object(planner, "speech_mask", word_tail(prob, below)):
            print(f"{name} {prob:g} {below}: {cells(loaded, settings)}", flush=True)


if __name__ == "__main__":
    main()
