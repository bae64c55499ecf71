"""Frame-level training targets from a note list, on the feature frame grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.transcribe.features import FRAMES_PER_S

N_KEYS = 88
LOWEST_PITCH = 21


@dataclass(frozen=True)
class Targets:
    """Per-frame, per-key targets, each ``(frames, 88)`` float32.

    ``onset``/``offset`` mark the frame nearest the event; ``frame`` is 1 while the
    note sounds; ``velocity`` holds velocity/127 on onset frames (the loss is
    masked to those frames).
    """

    onset: np.ndarray
    offset: np.ndarray
    frame: np.ndarray
    velocity: np.ndarray


def notes_array(notes: list[tuple[int, float, float, int]]) -> np.ndarray:
    """Pack ``(pitch, start_s, end_s, velocity)`` rows as ``(n, 4)`` float64 for fast cropping."""
    return np.asarray(notes, dtype=np.float64).reshape(-1, 4)


def make_targets(notes: np.ndarray, *, start_frame: int, n_frames: int) -> Targets:
    """Targets for frames ``start_frame .. start_frame + n_frames`` from ``(n, 4)`` note rows."""
    onset = np.zeros((n_frames, N_KEYS), np.float32)
    offset = np.zeros_like(onset)
    frame = np.zeros_like(onset)
    velocity = np.zeros_like(onset)
    if notes.size:
        keys = notes[:, 0].astype(int) - LOWEST_PITCH
        on = np.rint(notes[:, 1] * FRAMES_PER_S).astype(int) - start_frame
        off = np.rint(notes[:, 2] * FRAMES_PER_S).astype(int) - start_frame
        off = np.maximum(off, on + 1)
        keep = (keys >= 0) & (keys < N_KEYS) & (off > 0) & (on < n_frames)
        for key, a, b, vel in zip(keys[keep], on[keep], off[keep], notes[keep, 3], strict=True):
            frame[max(a, 0):min(b, n_frames), key] = 1.0
            if 0 <= a < n_frames:
                onset[a, key] = 1.0
                velocity[a, key] = vel / 127.0
            if 0 <= b < n_frames:
                offset[b, key] = 1.0
    return Targets(onset=onset, offset=offset, frame=frame, velocity=velocity)
