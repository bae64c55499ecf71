"""From per-frame probabilities to notes: onsets, held frames, offsets, velocities.

The rules, and why:

* a note starts only at a local peak of the onset probability above
  ``onset_threshold``; the exact time is interpolated between frames (a
  parabola through the peak and its neighbours), which is what makes a 20 ms
  frame grid precise enough for 50 ms onset tolerance;
* it lasts while the frame probability stays above ``frame_threshold``
  (short dips of up to ``gap_frames`` are bridged) or until a confident offset
  peak; the end found so is then moved to the strongest offset peak within
  ``offset_snap_frames`` if that reaches ``offset_snap_threshold``: the frame
  probability fades gradually (late on staccato notes, early on long decays)
  while the offset head peaks at the release itself;
* **pedal releases**: under the sustain pedal a note keeps sounding, ever
  fainter, until the pedal lifts, and the frame probability of a faint
  decaying note fades long before that; a pedal release shows as offset peaks
  on many keys at once (at least ``release_keys`` keys above
  ``release_threshold`` within two frames), so a note whose end falls less than
  ``release_lookahead_frames`` before such an event, with no new strike of its
  key in between, ends at the event instead;
* **no re-triggers inside held notes**: while a key is held, a new onset of the
  same key is accepted only if it is confident (``retrigger_threshold``) and at
  least ``min_ioi_s`` after the previous one; otherwise it is part of the note;
* **no octave ghosts**: an onset that coincides with a stronger one an octave
  (or twelfth, or two octaves) *below* may be that note's partial, not a key:
  it is dropped when it is weaker than ``ghost_ratio`` times the lower onset,
  or when its frame probability does not hold (a real key keeps sounding, a
  partial's onset is not followed by a held note). Only partners below count:
  partials lie above their fundamental, and on the selection pieces a weak
  onset with a stronger one an octave *above* was a real note 94 % of the time;
  with a *ghost rescorer* (:mod:`models.transcribe.ghosts`, fitted on the training pianos and
  calibrated per recording by how loudly its confident notes light the octave above) the same
  candidates are kept when its probability of a struck key reaches ``ghost_keep_threshold`` instead,
  and with a *re-strike rescorer* (:mod:`models.transcribe.restrikes`) an onset on a held key is kept
  when its probability reaches ``restrike_keep_threshold`` instead of ``retrigger_threshold``; with an
  *end rescorer* (:mod:`models.transcribe.ends`) a note ends at the candidate (frame fade, the rules'
  end, offset peaks, pedal releases, the key's next onset) it rates most likely right;
* velocity is the velocity head at the onset, scaled to MIDI 1..127.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.transcribe.ends import NoteContext, end_candidates, end_features, release_keys
from models.transcribe.features import FRAMES_PER_S
from models.transcribe.ghosts import CHORD_PEAK_FLOOR, ghost_features
from models.transcribe.labels import LOWEST_PITCH
from models.transcribe.restrikes import restrike_features, restrike_levels

#: Feature rows to the probability that each is a struck key (a fitted rescorer's ``probabilities``).
Scorer = Callable[[np.ndarray], np.ndarray]
#: ``(key, frame, previous accepted frame, strength)`` of an onset on a key held since its previous accepted
#: onset to whether it is a new strike.
RestrikeDecision = Callable[[int, int, int, float], bool]

#: Intervals (semitones) at which piano partials fall on other keys.
_GHOST_INTERVALS = (12, 19, 24)
#: Frames after an onset over which a real note's frame probability must hold (120 ms).
_GHOST_HOLD_FRAMES = 6


@dataclass(frozen=True)
class DecodeSettings:
    """Decoding thresholds (probabilities) and limits; the defaults are the ``piano`` preset's, chosen
    with ``reamend bench transcribe --tune`` on the selection pieces, with the shipped rescorers."""

    onset_threshold: float = 0.35
    frame_threshold: float = 0.4
    offset_threshold: float = 0.8
    retrigger_threshold: float = 0.6
    min_ioi_s: float = 0.06
    gap_frames: int = 1
    min_duration_s: float = 0.03
    ghost_ratio: float = 0.6
    ghost_frame_threshold: float = 0.7
    #: With a ghost rescorer: keep a ghost candidate whose probability of a struck key reaches this.
    ghost_keep_threshold: float = 0.6
    #: With a re-strike rescorer: keep an onset on a held key whose probability of a new strike reaches this.
    restrike_keep_threshold: float = 0.3
    offset_snap_frames: int = 8
    offset_snap_threshold: float = 0.2
    #: Keys that must show an offset peak together for a pedal release; 0 turns the rule off.
    release_keys: int = 8
    release_threshold: float = 0.2
    release_lookahead_frames: int = 150


#: The best decoding of the shipped network with the fixed rules instead of the rescorers (onset 0.4, pedal
#: release 11 keys above 0.15 within 1 s: ``reamend bench transcribe --tune --narrow --extra-selection 24`` for
#: run 10, on 32 selection pieces).
RULE_DECODING = DecodeSettings(onset_threshold=0.4, release_keys=11, release_threshold=0.15,
                               release_lookahead_frames=50)


@dataclass(frozen=True)
class Rescorers:
    """Learned decisions that replace the fixed octave-ghost, re-trigger and note-end rules (each optional;
    see :func:`models.transcribe.rescorers.shipped_rescorers`)."""

    ghost: Scorer | None = None
    restrike: Scorer | None = None
    end: Scorer | None = None

    @property
    def any(self) -> bool:
        """Whether any decision is learned (else decoding is the fixed rules')."""
        return self.ghost is not None or self.restrike is not None or self.end is not None


@dataclass(frozen=True)
class TranscribedNote:
    """A detected note: MIDI ``pitch``, times in seconds, MIDI ``velocity`` and the onset confidence."""

    pitch: int
    start_s: float
    end_s: float
    velocity: int
    confidence: float


@dataclass(frozen=True)
class Posteriors:
    """Model outputs as probabilities, each ``(frames, 88)`` float32 (velocity in 0..1)."""

    onset: np.ndarray
    offset: np.ndarray
    frame: np.ndarray
    velocity: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.onset.shape[0])


def onset_peaks(onset: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """``(frame, key)`` of local maxima above ``threshold`` (ties go to the earlier frame)."""
    padded = np.pad(onset, ((1, 1), (0, 0)), constant_values=-1.0)
    centre = padded[1:-1]
    peaks = (centre >= threshold) & (centre > padded[:-2]) & (centre >= padded[2:])
    frames, keys = np.nonzero(peaks)
    order = np.lexsort((frames, keys))
    return [(int(frames[i]), int(keys[i])) for i in order]


def _refine(values: np.ndarray, t: int) -> float:
    """Sub-frame peak position by a parabola through ``t-1, t, t+1``."""
    if t <= 0 or t >= values.shape[0] - 1:
        return float(t)
    left, mid, right = float(values[t - 1]), float(values[t]), float(values[t + 1])
    denom = left - 2 * mid + right
    if denom >= 0:
        return float(t)
    return t + float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def _frame_end(post: Posteriors, key: int, start: int, stop_limit: int, settings: DecodeSettings) -> int:
    """First frame after the note by frame activity, a confident offset peak, or the next onset."""
    frame = post.frame[:, key]
    offset = post.offset[:, key]
    t = start + 1
    gap = 0
    while t < stop_limit:
        if offset[t] >= settings.offset_threshold and offset[t] >= offset[min(t + 1, stop_limit - 1)]:
            return t
        if frame[t] < settings.frame_threshold:
            gap += 1
            if gap > settings.gap_frames:
                return t - gap + 1
        else:
            gap = 0
        t += 1
    return stop_limit - gap


def _snapped_end(post: Posteriors, key: int, start: int, stop_limit: int, end: int, settings: DecodeSettings) -> int:
    """The frame-activity ``end``, moved to the strongest offset peak within ``offset_snap_frames`` of it
    when that peak reaches ``offset_snap_threshold`` (never past the next onset of the key)."""
    low = max(start + 1, end - settings.offset_snap_frames)
    high = min(stop_limit, end + settings.offset_snap_frames + 1)
    if high > low:
        offset = post.offset[low:high, key]
        peak = int(np.argmax(offset))
        if offset[peak] >= settings.offset_snap_threshold:
            return low + peak
    return end


def pedal_releases(offset: np.ndarray, settings: DecodeSettings) -> np.ndarray:
    """Frames (sorted) of pedal releases: in each run of frames where at least ``release_keys`` keys
    have an offset probability above ``release_threshold`` within two frames, the frame with the
    most offset probability summed over keys."""
    if settings.release_keys <= 0 or offset.shape[0] == 0:
        return np.zeros(0, dtype=int)
    from scipy.ndimage import label, maximum_filter1d, maximum_position

    above = maximum_filter1d((offset >= settings.release_threshold).astype(np.int32), 5, axis=0)
    runs, count = label(above.sum(axis=1) >= settings.release_keys)
    if count == 0:
        return np.zeros(0, dtype=int)
    positions = maximum_position(offset.sum(axis=1), runs, index=np.arange(1, count + 1))
    return np.array([position[0] for position in positions], dtype=int)


def _held_to_release(end: int, limit: int, releases: np.ndarray, settings: DecodeSettings) -> int:
    """The first pedal release after ``end`` (more than two frames, within the lookahead, before
    ``limit``: the key's next strike), or ``end`` when there is none."""
    later = releases[(releases > end + 2) & (releases <= end + settings.release_lookahead_frames)
                     & (releases < limit)]
    return int(later[0]) if later.size else end


def _drop_ghosts(candidates: list[tuple[int, int, float]], frame: np.ndarray,
                 settings: DecodeSettings) -> list[tuple[int, int, float]]:
    """Remove onsets that coincide (within 2 frames) with a stronger one a partial interval below
    and are weaker than ``ghost_ratio`` of it or not followed by a held frame probability."""
    by_key: dict[int, list[tuple[int, float]]] = {}
    for onset_frame, key, strength in candidates:
        by_key.setdefault(key, []).append((onset_frame, strength))
    kept = []
    for onset_frame, key, strength in candidates:
        held = float(np.mean(frame[onset_frame:onset_frame + _GHOST_HOLD_FRAMES, key]))
        ghost = any(abs(other_frame - onset_frame) <= 2 and strength < other_strength
                    and (strength < settings.ghost_ratio * other_strength or held < settings.ghost_frame_threshold)
                    for interval in _GHOST_INTERVALS
                    for other_frame, other_strength in by_key.get(key - interval, ()))
        if not ghost:
            kept.append((onset_frame, key, strength))
    return kept


def _score_ghosts(candidates: list[tuple[int, int, float]], post: Posteriors, scorer: Scorer,
                  settings: DecodeSettings) -> list[tuple[int, int, float]]:
    """Remove the ghost candidates (onsets with a stronger one a partial interval below) that ``scorer``
    gives less than ``ghost_keep_threshold`` of being a struck key."""
    indices, rows = ghost_features(post, candidates, onset_peaks(post.onset, CHORD_PEAK_FLOOR))
    if not indices:
        return candidates
    keep = scorer(rows) >= settings.ghost_keep_threshold
    dropped = {index for index, kept in zip(indices, keep, strict=True) if not kept}
    return [candidate for index, candidate in enumerate(candidates) if index not in dropped]


def onset_candidates(post: Posteriors, settings: DecodeSettings, ghost: Scorer | None) -> list[tuple[int, int, float]]:
    """``(frame, key, strength)`` of the onset peaks that survive the octave-ghost decision (the rescorer's,
    else the fixed rule's)."""
    candidates = [(t, k, float(post.onset[t, k])) for t, k in onset_peaks(post.onset, settings.onset_threshold)]
    if ghost is None:
        return _drop_ghosts(candidates, post.frame, settings)
    return _score_ghosts(candidates, post, ghost, settings)


def accepted_onsets(post: Posteriors, candidates: list[tuple[int, int, float]], settings: DecodeSettings,
                    keep_restrike: RestrikeDecision, *,
                    frames_per_s: float = FRAMES_PER_S) -> dict[int, list[tuple[int, float]]]:
    """Per key, the candidates that start notes: one closer than ``min_ioi_s`` to the previous accepted onset
    is part of that note, and one on a key held since it (frame probability at ``frame_threshold``
    throughout) only if ``keep_restrike`` says it is a new strike."""
    min_ioi_frames = max(1, round(settings.min_ioi_s * frames_per_s))
    by_key: dict[int, list[tuple[int, float]]] = {}
    for t, k, strength in candidates:
        by_key.setdefault(k, []).append((t, strength))
    accepted_by_key = {}
    for key, onsets in by_key.items():
        accepted: list[tuple[int, float]] = []
        for t, strength in onsets:
            if accepted:
                prev_t, _ = accepted[-1]
                if t - prev_t < min_ioi_frames:
                    continue
                held = bool(np.all(post.frame[prev_t:t + 1, key] >= settings.frame_threshold))
                if held and not keep_restrike(key, t, prev_t, strength):
                    continue
            accepted.append((t, strength))
        accepted_by_key[key] = accepted
    return accepted_by_key


def restrike_inputs(post: Posteriors, settings: DecodeSettings, *,
                    frames_per_s: float = FRAMES_PER_S) -> tuple[tuple[float, float, float], np.ndarray]:
    """What every re-strike row of a recording shares: its re-strike levels and the frames of its onset
    peaks from :data:`models.transcribe.ghosts.CHORD_PEAK_FLOOR` (for the chord size)."""
    levels = restrike_levels(post, onset_peaks(post.onset, settings.onset_threshold),
                             frame_threshold=settings.frame_threshold,
                             min_gap_frames=max(1, round(settings.min_ioi_s * frames_per_s)))
    return levels, np.array([t for t, _ in onset_peaks(post.onset, CHORD_PEAK_FLOOR)], dtype=np.int64)


def restrike_decision(post: Posteriors, settings: DecodeSettings, scorer: Scorer | None, *,
                      frames_per_s: float = FRAMES_PER_S) -> RestrikeDecision:
    """The fixed re-trigger threshold, or ``scorer`` at ``restrike_keep_threshold`` on the candidate's
    :data:`models.transcribe.restrikes.FEATURES` (the recording's re-strike inputs computed once here)."""
    if scorer is None:
        return lambda key, t, previous, strength: strength >= settings.retrigger_threshold
    levels, chord_frames = restrike_inputs(post, settings, frames_per_s=frames_per_s)

    def decide(key: int, t: int, previous: int, strength: float) -> bool:
        row = restrike_features(post, key, t, previous, levels, chord_frames)
        return bool(scorer(row)[0] >= settings.restrike_keep_threshold)

    return decide


def note_contexts(post: Posteriors, accepted_by_key: dict[int, list[tuple[int, float]]], releases: np.ndarray,
                  settings: DecodeSettings) -> list[tuple[NoteContext, float]]:
    """Every accepted onset as a note to end, with its onset strength: the key's next accepted onset
    limits it, and the fixed chain (frame activity, offset snap, pedal release) gives its rule end."""
    contexts = []
    for key, accepted in accepted_by_key.items():
        for i, (t, strength) in enumerate(accepted):
            limit = accepted[i + 1][0] if i + 1 < len(accepted) else post.n_frames
            frame_end = _frame_end(post, key, t, limit, settings)
            rule_end = _held_to_release(_snapped_end(post, key, t, limit, frame_end, settings), limit, releases,
                                        settings)
            contexts.append((NoteContext(key=key, onset=t, limit=limit, frame_end=frame_end, rule_end=rule_end),
                             strength))
    return contexts


def note_end_rows(post: Posteriors, contexts: list[NoteContext], releases: np.ndarray,
                  settings: DecodeSettings) -> list[tuple[list[int], np.ndarray]]:
    """Each note's candidate end frames and their :data:`models.transcribe.ends.FEATURES` rows."""
    keys_at_release = release_keys(post, releases, settings.release_threshold)
    per_minute = len(releases) / max(1, post.n_frames) * FRAMES_PER_S * 60
    return [end_features(post, note, end_candidates(post, note, releases), keys_at_release, per_minute)
            for note in contexts]


def _learned_ends(post: Posteriors, contexts: list[NoteContext], releases: np.ndarray, settings: DecodeSettings,
                  scorer: Scorer) -> list[int]:
    """The candidate end ``scorer`` rates most likely right, per note (one scorer call for all notes)."""
    per_note = note_end_rows(post, contexts, releases, settings)
    if not per_note:
        return []
    probabilities = scorer(np.concatenate([rows for _, rows in per_note]))
    ends, start = [], 0
    for frames, rows in per_note:
        ends.append(frames[int(np.argmax(probabilities[start:start + rows.shape[0]]))])
        start += rows.shape[0]
    return ends


def decode(post: Posteriors, settings: DecodeSettings | None = None, *, rescorers: Rescorers | None = None,
           frames_per_s: float = FRAMES_PER_S) -> list[TranscribedNote]:
    """Turn posteriors into notes, sorted by start time then pitch. ``rescorers`` replace the fixed
    octave-ghost, re-trigger and note-end rules with learned decisions."""
    s = settings or DecodeSettings()
    learned = rescorers or Rescorers()
    candidates = onset_candidates(post, s, learned.ghost)
    keep_restrike = restrike_decision(post, s, learned.restrike, frames_per_s=frames_per_s)
    releases = pedal_releases(post.offset, s)
    contexts = note_contexts(post, accepted_onsets(post, candidates, s, keep_restrike, frames_per_s=frames_per_s),
                             releases, s)
    if learned.end is None:
        ends = [note.rule_end for note, _ in contexts]
    else:
        ends = _learned_ends(post, [note for note, _ in contexts], releases, s, learned.end)
    notes: list[TranscribedNote] = []
    for (note, strength), end in zip(contexts, ends, strict=True):
        key, t = note.key, note.onset
        start_s = _refine(post.onset[:, key], t) / frames_per_s
        end_s = max(end / frames_per_s, start_s + s.min_duration_s)
        velocity_value = float(np.max(post.velocity[t:t + 2, key]))
        notes.append(TranscribedNote(pitch=key + LOWEST_PITCH, start_s=max(0.0, start_s), end_s=end_s,
                                     velocity=int(np.clip(round(velocity_value * 127), 1, 127)),
                                     confidence=strength))
    notes.sort(key=lambda n: (n.start_s, n.pitch))
    return notes
