"""Transcription metrics with mir_eval, the standard implementation the field reports.

Note onset F1 uses a 50 ms onset tolerance; onset+offset F1 also requires the
offset within 50 ms or 20 % of the note's length; onset+velocity F1 adds
mir_eval's velocity check (velocities are rescaled by a linear fit, tolerance
0.1); frame F1 compares piano rolls at 100 frames per second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.transcribe.decode import TranscribedNote

MIN_DURATION_S = 1e-3


@dataclass(frozen=True)
class NoteScores:
    onset_f1: float
    onset_precision: float
    onset_recall: float
    onset_offset_f1: float
    onset_velocity_f1: float
    frame_f1: float
    n_reference: int
    n_estimated: int
    octave_ghosts: float = float("nan")
    retriggers: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _intervals(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(n, 4)`` pitch/start/end/velocity rows to mir_eval's intervals, Hz pitches and velocities."""
    if notes.size == 0:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0)
    intervals = np.stack([notes[:, 1], np.maximum(notes[:, 2], notes[:, 1] + MIN_DURATION_S)], axis=1)
    hz = 440.0 * 2 ** ((notes[:, 0] - 69) / 12)
    return intervals, hz, notes[:, 3].astype(float)


def _frame_f1(reference: np.ndarray, estimated: np.ndarray, *, fps: float = 100.0) -> float:
    end = max(float(reference[:, 2].max(initial=0)), float(estimated[:, 2].max(initial=0))) + 1
    n = int(end * fps) + 1

    def roll(notes: np.ndarray) -> np.ndarray:
        grid = np.zeros((n, 128), dtype=bool)
        for pitch, start, stop, _ in notes:
            grid[round(start * fps):max(round(stop * fps), round(start * fps) + 1), int(pitch)] = True
        return grid

    ref, est = roll(reference), roll(estimated)
    tp = float(np.logical_and(ref, est).sum())
    denom = float(ref.sum() + est.sum())
    return 2 * tp / denom if denom else 1.0


def score(reference: np.ndarray, estimated: np.ndarray, *, onset_only: bool = False) -> NoteScores:
    """Scores of ``estimated`` against ``reference``, both ``(n, 4)`` pitch/start_s/end_s/velocity.

    ``onset_only`` skips the other metrics (reported as NaN): for fast threshold searches.
    """
    import mir_eval

    ref_i, ref_p, ref_v = _intervals(reference)
    est_i, est_p, est_v = _intervals(estimated)
    if len(ref_p) == 0 or len(est_p) == 0:
        empty = float(len(ref_p) == len(est_p))
        return NoteScores(empty, empty, empty, empty, empty, empty, len(ref_p), len(est_p))
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ref_i, ref_p, est_i, est_p, offset_ratio=None)
    if onset_only:
        nan = float("nan")
        return NoteScores(f, p, r, nan, nan, nan, len(ref_p), len(est_p))
    _, _, f_off, _ = mir_eval.transcription.precision_recall_f1_overlap(ref_i, ref_p, est_i, est_p)
    _, _, f_vel, _ = mir_eval.transcription_velocity.precision_recall_f1_overlap(
        ref_i, ref_p, ref_v, est_i, est_p, est_v, offset_ratio=None)
    matched = {j for _, j in mir_eval.transcription.match_notes(ref_i, ref_p, est_i, est_p, offset_ratio=None)}
    ghosts, retriggers = _false_positive_kinds(reference, estimated, matched)
    return NoteScores(onset_f1=f, onset_precision=p, onset_recall=r, onset_offset_f1=f_off,
                      onset_velocity_f1=f_vel, frame_f1=_frame_f1(reference, estimated),
                      n_reference=len(ref_p), n_estimated=len(est_p),
                      octave_ghosts=ghosts / len(ref_p), retriggers=retriggers / len(ref_p))


def _false_positive_kinds(reference: np.ndarray, estimated: np.ndarray, matched: set[int]) -> tuple[int, int]:
    """Unmatched estimated notes that are octave ghosts (a reference onset 12 or 24 semitones away
    within 50 ms) or re-triggers (the same key already sounding in the reference, its onset over 50 ms
    earlier). Reported per reference note."""
    ghosts = retriggers = 0
    for j in range(estimated.shape[0]):
        if j in matched:
            continue
        pitch, start = estimated[j, 0], estimated[j, 1]
        near = np.abs(reference[:, 1] - start) <= 0.05
        if np.any(near & np.isin(np.abs(reference[:, 0] - pitch), (12, 24))):
            ghosts += 1
        elif np.any((reference[:, 0] == pitch) & (reference[:, 1] < start - 0.05) & (reference[:, 2] > start)):
            retriggers += 1
    return ghosts, retriggers


def notes_matrix(notes: Iterable[TranscribedNote]) -> np.ndarray:
    """Decoded notes as the ``(n, 4)`` pitch/start_s/end_s/velocity rows :func:`score` takes."""
    return np.array([[n.pitch, n.start_s, n.end_s, n.velocity] for n in notes], dtype=float).reshape(-1, 4)


def selection_objective(scores: Mapping[str, float]) -> float:
    """What checkpoints and decoding settings are chosen by: onset F1 plus half the onset+offset F1
    (offsets matter, onsets matter more)."""
    return scores["onset_f1"] + 0.5 * scores["onset_offset_f1"]


def mean_scores(scores: Sequence[NoteScores]) -> dict[str, float]:
    """Mean of each metric over pieces (each piece weighs the same, as in MAESTRO reports)."""
    if not scores:
        return {}
    keys = scores[0].as_dict().keys()
    return {k: float(np.mean([s.as_dict()[k] for s in scores])) for k in keys}
