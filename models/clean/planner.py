"""The edit planner: frame labels of one or more tracks to one :class:`EditList`.

A plain pipeline (as in auto-editor): speech masks, margins around speech,
non-speech events with minimum lengths, then decisions. Time is removed only
inside gaps where no track speaks (multitrack-safe by construction); breaths,
clicks, bumps and noise are otherwise treated on the track they were heard on.
Cut points sit at the quietest frames available, and one cut per gap covers
the sounds meant to go (a breath in "remove" mode) while avoiding those meant
to stay (a breath in "attenuate" mode).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from models.clean.detect import TrackAnalysis
from models.clean.edits import Cut, EditEvent, EditList, merge_cuts
from models.clean.labels import BREATH, BUMP, CLICK, FRAME_S, NOISE, SPEECH, EventLabel

BreathMode = Literal["keep", "attenuate", "remove"]
ClickMode = Literal["keep", "repair"]
NoiseMode = Literal["keep", "attenuate", "cut"]
#: "remove" for a sound that cannot lose its time (someone else talks): silence it on its track.
MUTE_GAIN_DB = -60.0
#: Mouth-noise events may run this close to a word; cuts keep the full speech margin.
EVENT_GUARD_FRAMES = 2
#: A breath event also takes in the neighbouring non-speech frames whose breath probability
#: reaches this: a breath's quiet onset and tail are often labelled pause, which would leave
#: half the breath in place (chosen on the tuning episodes, not the held-out ones).
BREATH_GROW_PROB = 0.3
#: Whether a pause is *long* is judged on its extent as the detector labels it: frames count as
#: speech for that decision only from this speech probability (or the speech label) on. The
#: cautious mask (``speech_threshold`` plus ``speech_margin_ms``) gives a word's uncertain
#: reverberant edges to the word, which is right for where a cut may go but made gaps just over
#: ``max_pause_ms`` measure just under it, so they were kept. Cuts still go only where the
#: cautious mask allows. Chosen on the tuning episodes (``training/clean/tune_pause.py``).
PAUSE_EXTENT_SPEECH_PROB = 0.5


@dataclass(frozen=True)
class PlanSettings:
    """Planner settings; presets set them (field meanings in ``docs/clean.md``)."""

    max_pause_ms: float = 1000.0
    target_pause_ms: float = 600.0
    min_pause_ms: float = 150.0
    speech_margin_ms: float = 60.0
    speech_threshold: float = 0.2
    breath_mode: BreathMode = "attenuate"
    breath_gain_db: float = -15.0
    min_breath_ms: float = 80.0
    click_mode: ClickMode = "repair"
    max_repair_ms: float = 20.0
    bump_mode: NoiseMode = "cut"
    noise_mode: NoiseMode = "attenuate"
    noise_gain_db: float = -30.0
    max_noise_s: float = 3.0
    crossfade_ms: float = 10.0


@dataclass(frozen=True)
class _Run:
    start: int
    stop: int
    confidence: float


def _frames(ms: float) -> int:
    return round(ms / 1000.0 / FRAME_S)


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True."""
    if mask.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def speech_mask(analysis: TrackAnalysis, settings: PlanSettings) -> np.ndarray:
    """Frames treated as speech: the label says so, or the model is not sure enough it is not."""
    return (analysis.labels == SPEECH) | (analysis.probs[:, SPEECH] >= settings.speech_threshold)


def pause_extent_speech(analysis: TrackAnalysis, settings: PlanSettings) -> np.ndarray:
    """Frames that end a pause when measuring its length: a subset of :func:`speech_mask`."""
    threshold = max(settings.speech_threshold, PAUSE_EXTENT_SPEECH_PROB)
    return (analysis.labels == SPEECH) | (analysis.probs[:, SPEECH] >= threshold)


def _run_of_each_frame(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every frame, the first frame (-1 outside runs) and the length (0 outside runs) of the
    run of True it lies in."""
    starts = np.full(mask.shape[0], -1, dtype=np.int64)
    lengths = np.zeros(mask.shape[0], dtype=np.int64)
    for start, stop in true_runs(mask):
        starts[start:stop] = start
        lengths[start:stop] = stop - start
    return starts, lengths


def _class_runs(analysis: TrackAnalysis, speech: np.ndarray, cls: int, *, close_frames: int,
                min_frames: int, guard: bool, grow_prob: float | None = None) -> list[_Run]:
    mask = analysis.labels == cls
    if grow_prob is not None:
        # Hysteresis: keep the candidate frames connected to a frame labelled ``cls``.
        mask = ndimage.binary_propagation(mask, mask=mask | ((analysis.probs[:, cls] >= grow_prob) & ~speech))
    if close_frames:
        mask = ndimage.binary_closing(mask, structure=np.ones(close_frames + 1, dtype=bool)) | mask
    if guard:
        mask &= ~ndimage.binary_dilation(speech, iterations=EVENT_GUARD_FRAMES)
    runs = []
    for start, stop in true_runs(mask):
        if stop - start >= min_frames:
            runs.append(_Run(start, stop, float(np.mean(analysis.probs[start:stop, cls]))))
    return runs


def detect_events(analysis: TrackAnalysis, settings: PlanSettings) -> dict[int, list[_Run]]:
    """Breath, click, bump and noise runs of one track, with minimum lengths."""
    speech = speech_mask(analysis, settings)
    return {
        BREATH: _class_runs(analysis, speech, BREATH, close_frames=4, min_frames=_frames(settings.min_breath_ms),
                            guard=True, grow_prob=BREATH_GROW_PROB),
        CLICK: _class_runs(analysis, speech, CLICK, close_frames=0, min_frames=1, guard=False),
        BUMP: _class_runs(analysis, speech, BUMP, close_frames=2, min_frames=2, guard=True),
        NOISE: _class_runs(analysis, speech, NOISE, close_frames=3, min_frames=8, guard=True),
    }


def _pad(mask: np.ndarray, frames: int) -> np.ndarray:
    if mask.shape[0] >= frames:
        return mask[:frames]
    return np.concatenate([mask, np.zeros(frames - mask.shape[0], dtype=mask.dtype)])


def _place_cut(lo: int, hi: int, length: int, wanted: np.ndarray, forbidden: np.ndarray,
               quiet: np.ndarray) -> tuple[int, int] | None:
    """The best ``[a, a+length)`` inside ``[lo, hi)``: covers wanted frames, avoids forbidden ones,
    stays near the middle, and starts and ends on quiet frames."""
    if length <= 0 or hi - lo < length:
        return None
    free_runs = [(a, b) for a, b in true_runs(~forbidden[lo:hi])]
    if not free_runs:
        return None
    best_lo, best_hi = max(free_runs, key=lambda r: r[1] - r[0])
    if forbidden[lo:hi].any():
        lo, hi = lo + best_lo, lo + best_hi
        length = min(length, hi - lo)
        if length <= 0:
            return None
    starts = np.arange(lo, hi - length + 1)
    cum_wanted = np.concatenate([[0], np.cumsum(wanted[lo:hi])])
    coverage = cum_wanted[starts - lo + length] - cum_wanted[starts - lo]
    centre_offset = np.abs(starts + length / 2 - (lo + hi) / 2)
    end_quiet = quiet[np.minimum(starts + length, quiet.shape[0] - 1)]
    score = 10.0 * coverage - 0.05 * centre_offset - 0.3 * (quiet[starts] + end_quiet)
    a = int(starts[int(np.argmax(score))])
    return a, a + length


def plan(analyses: Sequence[TrackAnalysis], settings: PlanSettings, *, sources: Sequence[str] = (),
         preset: str | None = None) -> EditList:
    """One edit list for tracks that play together (one analysis for a single file)."""
    if not analyses:
        raise ValueError("plan() needs at least one track")
    frames = max(a.frames for a in analyses)
    speech_tracks = [_pad(speech_mask(a, settings), frames) for a in analyses]
    speech_any = np.logical_or.reduce(speech_tracks)
    margin = _frames(settings.speech_margin_ms)
    protected = ndimage.binary_dilation(speech_any, iterations=margin) if margin and speech_any.any() else speech_any
    track_events = [detect_events(a, settings) for a in analyses]
    wanted = np.zeros(frames, dtype=bool)
    forbidden = np.zeros(frames, dtype=bool)
    for runs in track_events:
        for cls, items in runs.items():
            mode = _mode(settings, cls)
            for run in items:
                if mode in ("remove", "cut") and not (cls == NOISE and _too_long(run, settings)):
                    wanted[run.start:run.stop] = True
                elif cls == BREATH:
                    forbidden[run.start:run.stop] = True
    quiet = np.max([_pad(a.energy_db - a.reference_db, frames) for a in analyses], axis=0)
    has_speech = bool(speech_any.any())
    # Each cautious gap lies inside one pause as the detector labels it (a run of ~extent_speech);
    # that pause's length decides "long", and its shortening is spent once, largest gap first.
    extent_speech = np.logical_or.reduce([_pad(pause_extent_speech(a, settings), frames) for a in analyses])
    extent_start, extent_frames = _run_of_each_frame(~extent_speech)
    to_shorten: dict[int, int] = {}
    events: list[EditEvent] = []
    cuts: list[Cut] = []
    gaps = true_runs(~speech_any)
    for start, stop in sorted(gaps, key=lambda g: g[0] - g[1]):
        length = stop - start
        pause_frames = int(extent_frames[start])
        eligible = true_runs(~protected[start:stop])
        cut = None
        if has_speech and eligible:
            lo, hi = max(((start + a, start + b) for a, b in eligible), key=lambda r: r[1] - r[0])
            key = int(extent_start[start])
            if pause_frames * FRAME_S * 1000 > settings.max_pause_ms:
                to_shorten.setdefault(key, pause_frames - _frames(settings.target_pause_ms))
            shortening = to_shorten.get(key, 0) > 0
            if shortening:
                remove = to_shorten[key]
            else:
                remove = min(int(wanted[lo:hi].sum()), length - _frames(settings.min_pause_ms))
            cut = _place_cut(lo, hi, min(remove, hi - lo), wanted, forbidden, quiet)
            if cut is not None and shortening:
                to_shorten[key] -= cut[1] - cut[0]
        if cut is not None:
            cuts.append(Cut(cut[0] * FRAME_S, cut[1] * FRAME_S))
            events.append(EditEvent(start * FRAME_S, stop * FRAME_S, "pause", "shorten",
                                    cut_start_s=cut[0] * FRAME_S, cut_end_s=cut[1] * FRAME_S,
                                    kept_s=(length - (cut[1] - cut[0])) * FRAME_S))
        else:
            events.append(EditEvent(start * FRAME_S, stop * FRAME_S, "pause", "keep"))
    merged = merge_cuts(cuts)
    for track, runs in enumerate(track_events):
        for cls, items in runs.items():
            events.extend(_decide(run, cls, track, settings, merged) for run in items)
    events.sort(key=lambda e: (e.start_s, -1 if e.track is None else e.track))
    first = analyses[0]
    return EditList(sample_rate=first.sample_rate, duration_s=max(a.duration_s for a in analyses),
                    events=tuple(events), cuts=merged, crossfade_ms=settings.crossfade_ms,
                    sources=tuple(sources), preset=preset, settings=_settings_json(settings))


def _mode(settings: PlanSettings, cls: int) -> str:
    return {BREATH: settings.breath_mode, CLICK: settings.click_mode, BUMP: settings.bump_mode,
            NOISE: settings.noise_mode}[cls]


def _too_long(run: _Run, settings: PlanSettings) -> bool:
    """Long "noise" is more likely music or ambience the producer wants: leave it alone."""
    return (run.stop - run.start) * FRAME_S > settings.max_noise_s


_LABELS: Mapping[int, EventLabel] = {BREATH: "breath", CLICK: "click", BUMP: "bump", NOISE: "noise"}


def _decide(run: _Run, cls: int, track: int, settings: PlanSettings, cuts: Sequence[Cut]) -> EditEvent:
    start_s, end_s = run.start * FRAME_S, run.stop * FRAME_S
    label = _LABELS[cls]
    covered = sum(max(0.0, min(end_s, c.end_s) - max(start_s, c.start_s)) for c in cuts)
    base: dict[str, Any] = {"start_s": start_s, "end_s": end_s, "label": label, "track": track,
                            "confidence": run.confidence}
    if covered >= 0.9 * (end_s - start_s):
        return EditEvent(action="cut", cut_start_s=start_s, cut_end_s=end_s, **base)
    mode = _mode(settings, cls)
    if mode == "keep" or (cls == NOISE and _too_long(run, settings)):
        return EditEvent(action="keep", **base)
    if cls == CLICK:
        if (end_s - start_s) * 1000 <= max(settings.max_repair_ms, FRAME_S * 1000):
            return EditEvent(action="repair", **base)
        return EditEvent(action="attenuate", gain_db=settings.noise_gain_db, **base)
    if cls == BREATH:
        gain = settings.breath_gain_db if mode == "attenuate" else MUTE_GAIN_DB
        return EditEvent(action="attenuate", gain_db=gain, **base)
    gain = settings.noise_gain_db if mode == "attenuate" else MUTE_GAIN_DB
    return EditEvent(action="attenuate", gain_db=gain, **base)


def _settings_json(settings: PlanSettings) -> dict[str, Any]:
    return asdict(settings)


def removable_frames(analysis: TrackAnalysis, settings: PlanSettings, *, long_pause_s: float) -> np.ndarray:
    """Frames the system would treat as removable (benchmark's "remove class"): mouth sounds,
    bumps and noise, plus every frame of a non-speech gap (cautious mask, where the planner may act)
    that lies in a pause longer than ``long_pause_s`` (as :func:`pause_extent_speech` measures it)."""
    mask = np.zeros(analysis.frames, dtype=bool)
    for runs in detect_events(analysis, settings).values():
        for run in runs:
            mask[run.start:run.stop] = True
    _, pause_frames = _run_of_each_frame(~pause_extent_speech(analysis, settings))
    for start, stop in true_runs(~speech_mask(analysis, settings)):
        if pause_frames[start] * FRAME_S >= long_pause_s:
            mask[start:stop] = True
    return mask
