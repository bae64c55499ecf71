"""Note ends chosen among candidates by a learned rescorer, instead of one fixed chain of rules.

The fixed chain (:mod:`models.transcribe.decode`: the frame probability falls under a threshold, the end
snaps to a nearby offset-head peak, a faded note is held to a pedal release) gets a note's end within
the onset+offset tolerance for about 79 % of the matched notes on the selection pieces: short notes end
late (14 %: the held-out piano's releases ring longer than the training pianos'), notes of 0.5 to 2 s
end early (14 %) and notes of 2 s or more end early half the time (their frame probability fades long
before the pedal lifts). Each of those rules is right for some notes; which one depends on the note
and the recording. So every decoded note gets its candidate ends (:func:`end_candidates`: where the
frame probability falls, the fixed chain's end, up to :data:`MAX_PEAKS` offset-head peaks, up to
:data:`MAX_RELEASES` pedal releases, the key's next onset), each candidate a feature row
(:data:`FEATURES`), and the candidate a boosted ensemble (:mod:`models.transcribe.trees`, fitted by
:mod:`models.transcribe.rescorer_fit` on fresh renders of the training pianos) finds most likely to lie
within the tolerance of the true end wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.transcribe.decode import Posteriors

#: Frames after the onset within which candidates are sought (10 s).
MAX_NOTE_FRAMES = 500
#: Strongest offset-head peaks taken as candidates.
MAX_PEAKS = 6
#: Offset-head peaks from this probability are candidates.
PEAK_FLOOR = 0.05
#: First pedal releases after the onset taken as candidates.
MAX_RELEASES = 4
#: Frames averaged before and after a candidate (100 ms).
SIDE_FRAMES = 5
#: ``log1p`` frames to the next onset when the key is not struck again.
NO_NEXT_ONSET = 9.0
#: Keys whose offset probability reaches this within two frames of a candidate count as releasing with it.
RELEASING_KEY_OFFSET = 0.15
#: Frames after the onset over which the note's early frame peak is taken (200 ms), and the frame at which its
#: decay is sampled (500 ms).
EARLY_FRAMES = 10
DECAY_FRAME = 25
FEATURES = ("log_frames_from_onset", "offset", "offset_near", "frame_before", "frame_after",
            "seconds_from_frame_end", "seconds_from_rule_end", "is_pedal_release", "pedal_release_keys",
            "is_next_onset", "is_frame_end", "is_rule_end", "is_strongest_offset", "key", "onset_strength",
            "velocity", "log_frames_to_next_onset", "pedal_releases_per_minute", "keys_releasing_near",
            "early_frame_peak", "frame_at_500ms", "frame_at_candidate")


@dataclass(frozen=True)
class NoteContext:
    """What the candidates of one note are built from: its key, onset frame, the key's next accepted onset
    (``limit``), the fixed chain's end and the frame-threshold end."""

    key: int
    onset: int
    limit: int
    frame_end: int
    rule_end: int


def end_candidates(post: Posteriors, note: NoteContext, releases: np.ndarray) -> dict[int, str]:
    """Candidate end frames of a note and what each one is (where the fixed chain's end and the frame end
    coincide it counts as the chain's; otherwise the first reason wins a shared frame)."""
    candidates = {note.frame_end: "frame", note.rule_end: "rule"}
    high = min(note.limit, note.onset + MAX_NOTE_FRAMES)
    offset = post.offset[note.onset + 1:high, note.key]
    if offset.size > 2:
        inner = offset[1:-1]
        peaks = np.nonzero((inner >= PEAK_FLOOR) & (inner >= offset[:-2]) & (inner >= offset[2:]))[0] + 1
        for i in peaks[np.argsort(-offset[peaks], kind="stable")][:MAX_PEAKS]:
            candidates.setdefault(note.onset + 1 + int(i), "peak")
    for release in releases[(releases > note.onset + 2) & (releases < high)][:MAX_RELEASES]:
        candidates.setdefault(int(release), "pedal")
    if note.limit < post.n_frames and note.limit - note.onset < MAX_NOTE_FRAMES:
        candidates.setdefault(note.limit, "next")
    return candidates


def release_keys(post: Posteriors, releases: np.ndarray, threshold: float) -> dict[int, int]:
    """For each pedal release frame, how many keys show an offset peak of ``threshold`` within two frames."""
    return {int(r): int(np.sum(post.offset[max(0, r - 2):r + 3].max(axis=0) >= threshold)) for r in releases}


def end_features(post: Posteriors, note: NoteContext, candidates: dict[int, str], keys_at_release: dict[int, int],
                 releases_per_minute: float) -> tuple[list[int], np.ndarray]:
    """The candidate frames (sorted) and their :data:`FEATURES` rows."""
    frames = sorted(candidates)
    offsets = [float(post.offset[f, note.key]) if f < post.n_frames else 0.0 for f in frames]
    strongest = max(offsets)
    next_onset = float(np.log1p(note.limit - note.onset)) if note.limit < post.n_frames else NO_NEXT_ONSET
    early_peak = float(post.frame[note.onset:note.onset + EARLY_FRAMES, note.key].max())
    at_500ms = float(post.frame[min(note.onset + DECAY_FRAME, post.n_frames - 1), note.key])
    rows = []
    for frame, offset in zip(frames, offsets, strict=True):
        before = post.frame[max(note.onset, frame - SIDE_FRAMES):frame, note.key]
        after = post.frame[frame:frame + SIDE_FRAMES, note.key]
        near = post.offset[max(0, frame - 2):frame + 3, note.key]
        all_keys_near = post.offset[max(0, frame - 2):frame + 3]
        releasing = float(np.sum(all_keys_near.max(axis=0) >= RELEASING_KEY_OFFSET)) if all_keys_near.size else 0.0
        kind = candidates[frame]
        rows.append((np.log1p(frame - note.onset), offset, float(near.max()) if near.size else 0.0,
                     float(before.mean()) if before.size else 0.0, float(after.mean()) if after.size else 0.0,
                     (frame - note.frame_end) / 50.0, (frame - note.rule_end) / 50.0, float(kind == "pedal"),
                     float(keys_at_release.get(frame, 0)), float(kind == "next"), float(kind == "frame"),
                     float(kind == "rule"), float(offset >= strongest), note.key,
                     float(post.onset[note.onset, note.key]), float(post.velocity[note.onset, note.key]),
                     next_onset, releases_per_minute, releasing, early_peak, at_500ms,
                     float(post.frame[min(frame, post.n_frames - 1), note.key])))
    return frames, np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))
