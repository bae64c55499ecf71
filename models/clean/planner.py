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
from models.clean.labels import BREATH, BUMP, CLICK, FRAME_S, NOISE, PAUSE, SPEECH, EventLabel

BreathMode = Literal["keep", "attenuate", "remove"]
ClickMode = Literal["keep", "repair"]
NoiseMode = Literal["keep", "attenuate", "cut"]
#: "remove" for a sound that cannot lose its time (someone else talks): silence it on its track.
MUTE_GAIN_DB = -60.0
#: Breath, bump and noise events stop this many frames short of the cautious speech mask
#: (``speech_threshold``, itself wider than the word); cuts keep the full speech margin. With the
#: gain ramp (``crossfade_ms``, one frame outside the event) one frame still keeps every ramp off
#: the mask. Two frames left a breath that runs into the next word short by its last frames, often
#: below ``min_breath_ms`` altogether; one frame caught 0.7-1.3 points more breath frames on the
#: tuning and leave-one-breath-source-out episodes at -0.04 to +0.01 points of precision, no speech
#: frame cut (``training/clean/tune_events.py``).
EVENT_GUARD_FRAMES = 1
#: A breath event also takes in the neighbouring non-speech frames whose breath probability
#: reaches this: a breath's quiet onset and tail are often labelled pause, which would leave
#: half the breath in place (chosen on the tuning episodes, not the held-out ones; re-checked with
#: the one-frame guard and the audible-sound rule: 0.2 adds at most 0.2 points of breath frames on the
#: check episodes for up to 0.1 points of precision, which the precision target cannot spare).
BREATH_GROW_PROB = 0.3
#: Whether a pause is *long* is judged on its extent as the detector labels it: frames count as
#: speech for that decision only from this speech probability (or the speech label) on. The
#: cautious mask (``speech_threshold`` plus ``speech_margin_ms``) gives a word's uncertain
#: reverberant edges to the word, which is right for where a cut may go but made gaps just over
#: ``max_pause_ms`` measure just under it, so they were kept. Cuts still go only where the
#: cautious mask allows. Chosen on the tuning episodes (``training/clean/tune_pause.py``).
PAUSE_EXTENT_SPEECH_PROB = 0.5
#: Signal logic for sounds the detector did not recognise (a breath or noise of a timbre it never
#: heard is often called a pause): outside the speech mask, a frame labelled pause that is at least
#: this much above the local room-tone floor (:func:`room_floor_db`) ...
AUDIBLE_ABOVE_FLOOR_DB = 3.0
#: ... and whose breath + noise + bump probability reaches this joins the breath events. All three
#: were chosen on the tuning and leave-one-breath-source-out episodes (``training/clean/tune_events.py
#: --rule-grid``): the rule caught 0.4-0.9 points more breath frames on the unheard sources at
#: -0.03 points of precision or less. Without the probability it took room-tone swells and
#: reverberation too (precision -2.5 points); without the level it is only a lower growth threshold
#: (precision up to -0.26 points more). 3 dB is where a sound starts to be heard over room tone (the
#: episodes label breath frames under 0.7 x the tone's level as pause); 6 dB caught less.
AUDIBLE_EVENT_PROB = 0.1
#: A word's reverberation decays through the gap after it; it is neither breath nor noise, so the
#: rule above leaves this long after every run of the speech mask alone (RT60 up to 0.5 s decays
#: 24 dB in 200 ms; without it precision fell 0.07-0.18 points, with 100 ms up to 0.09).
REVERB_TAIL_MS = 200.0
#: The room-tone floor: a low percentile of frame energy per block, the minimum over a window of
#: blocks (a few seconds: hum and fan tones are steady and part of the floor; words are not).
FLOOR_BLOCK_FRAMES = 25
FLOOR_PERCENTILE = 20.0
FLOOR_WINDOW_BLOCKS = 21


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
    min_breath_ms: float = 60.0
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


def _widen(mask: np.ndarray, frames: int) -> np.ndarray:
    """``mask`` grown by ``frames`` on both sides (``binary_dilation`` reads 0 iterations as "until
    nothing changes", which would cover the whole track)."""
    return ndimage.binary_dilation(mask, iterations=frames) if frames > 0 else mask


def room_floor_db(energy_db: np.ndarray) -> np.ndarray:
    """The local room-tone level per frame (dBFS): the ``FLOOR_PERCENTILE`` of each block of
    ``FLOOR_BLOCK_FRAMES``, then the minimum over ``FLOOR_WINDOW_BLOCKS`` blocks around it."""
    frames = energy_db.shape[0]
    if frames == 0:
        return energy_db.astype(np.float32)
    blocks = -(-frames // FLOOR_BLOCK_FRAMES)
    padded = np.concatenate([energy_db, np.full(blocks * FLOOR_BLOCK_FRAMES - frames, energy_db[-1])])
    lows = np.percentile(padded.reshape(blocks, FLOOR_BLOCK_FRAMES), FLOOR_PERCENTILE, axis=1)
    lows = ndimage.minimum_filter1d(lows, FLOOR_WINDOW_BLOCKS, mode="nearest")
    return np.repeat(lows, FLOOR_BLOCK_FRAMES)[:frames].astype(np.float32)


def _after_speech(speech: np.ndarray, frames: int) -> np.ndarray:
    """Non-speech frames at most ``frames`` after the last frame of ``speech`` before them."""
    index = np.arange(speech.shape[0])
    last = np.maximum.accumulate(np.where(speech, index, -1))
    return ~speech & (last >= 0) & (index - last <= frames)


def audible_unrecognised(analysis: TrackAnalysis, speech: np.ndarray) -> np.ndarray:
    """Frames labelled pause that hold an audible sound the detector half recognises as breath or
    noise: above the room-tone floor, outside the speech mask and the reverberation after it."""
    loud = analysis.energy_db >= room_floor_db(analysis.energy_db) + AUDIBLE_ABOVE_FLOOR_DB
    eventlike = analysis.probs[:, [BREATH, NOISE, BUMP]].sum(axis=1) >= AUDIBLE_EVENT_PROB
    return ((analysis.labels == PAUSE) & loud & eventlike & ~speech
            & ~_after_speech(speech, _frames(REVERB_TAIL_MS)))


def _class_runs(analysis: TrackAnalysis, speech: np.ndarray, cls: int, *, close_frames: int,
                min_frames: int, guard: bool, grow_prob: float | None = None,
                extra: np.ndarray | None = None) -> list[_Run]:
    mask = analysis.labels == cls
    if grow_prob is not None:
        # Hysteresis: keep the candidate frames connected to a frame labelled ``cls``.
        mask = ndimage.binary_propagation(mask, mask=mask | ((analysis.probs[:, cls] >= grow_prob) & ~speech))
    if close_frames:
        mask = ndimage.binary_closing(mask, structure=np.ones(close_frames + 1, dtype=bool)) | mask
    if extra is not None:  # as measured, not bridged: level flickers would join unrelated frames
        mask = mask | extra
    if guard:
        mask &= ~_widen(speech, EVENT_GUARD_FRAMES)
    runs = []
    for start, stop in true_runs(mask):
        if stop - start >= min_frames:
            runs.append(_Run(start, stop, float(np.mean(analysis.probs[start:stop, cls]))))
    return runs


def detect_events(analysis: TrackAnalysis, settings: PlanSettings) -> dict[int, list[_Run]]:
    """Breath, click, bump and noise runs of one track, with minimum lengths; audible sounds the
    detector did not recognise (:func:`audible_unrecognised`) join the breaths where no other
    event holds them."""
    speech = speech_mask(analysis, settings)
    others = {
        CLICK: _class_runs(analysis, speech, CLICK, close_frames=0, min_frames=1, guard=False),
        BUMP: _class_runs(analysis, speech, BUMP, close_frames=2, min_frames=2, guard=True),
        NOISE: _class_runs(analysis, speech, NOISE, close_frames=3, min_frames=8, guard=True),
    }
    taken = np.zeros(analysis.frames, dtype=bool)
    for runs in others.values():
        for run in runs:
            taken[run.start:run.stop] = True
    breaths = _class_runs(analysis, speech, BREATH, close_frames=4, min_frames=_frames(settings.min_breath_ms),
                          guard=True, grow_prob=BREATH_GROW_PROB,
                          extra=audible_unrecognised(analysis, speech) & ~taken)
    return {BREATH: breaths, **others}


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
    protected = _widen(speech_any, margin)
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
