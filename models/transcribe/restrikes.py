"""Re-strikes decided per recording: a new blow on a key that still sounds, or its string ringing on?

Under the pedal or in legato playing a key is often struck again while it still sounds; the onset head
then hears a string that is already vibrating, and a ringing string's own swells raise it too. The
fixed rule (:class:`models.transcribe.decode.DecodeSettings` ``retrigger_threshold``: a second onset
on a held key needs 0.6) was the largest source of misses on the selection pieces (598 of 1312 were
re-strikes of a sounding key). Whether a swell of 0.5 is a blow depends on the piano and the room, so
the rescorer sees, besides the candidate's and the previous strike's posteriors, three **re-strike
levels** of the whole recording: over the onset peaks that follow an earlier peak of their key with the
key held in between, their median strength, the share of them at or above 0.6, and their share of all
onset peaks. Like the ghost rescorer (:mod:`models.transcribe.ghosts`) it is a boosted tree ensemble
(:mod:`models.transcribe.trees`) fitted on fresh renders of the training pianos
(:mod:`models.transcribe.rescorer_fit`). This module computes its features.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from models.transcribe.ghosts import PARTNER_FRAMES, PARTNER_INTERVALS

if TYPE_CHECKING:
    from models.transcribe.decode import Posteriors

#: A held candidate this strong counts towards the recording's confident re-strike share.
CONFIDENT_RESTRIKE = 0.6
#: Frames over which the frame probability is averaged before and after a candidate (100 ms).
HOLD_FRAMES = 5
FEATURES = ("key", "strength", "previous_strength", "frames_since_previous", "least_frame_between",
            "most_offset_between", "hold_before", "hold_after", "velocity", "previous_velocity", "partner_ratio",
            "chord_size", "level_median", "level_confident_share", "level_held_share")


def restrike_levels(post: Posteriors, peaks: Sequence[tuple[int, int]], *, frame_threshold: float,
                    min_gap_frames: int) -> tuple[float, float, float]:
    """The recording's re-strike levels from its onset peaks (``(frame, key)``, sorted by key then frame, as
    :func:`models.transcribe.decode.onset_peaks` gives them): over the peaks at least ``min_gap_frames`` after
    the previous peak of their key, with the key's frame probability held at ``frame_threshold`` in
    between, their median onset probability, the share of them at :data:`CONFIDENT_RESTRIKE` or more, and
    their share of all peaks (zeros when there are none)."""
    held = [float(post.onset[t, k]) for (prev_t, prev_k), (t, k) in pairwise(peaks)
            if k == prev_k and t - prev_t >= min_gap_frames
            and bool(np.all(post.frame[prev_t:t + 1, k] >= frame_threshold))]
    if not held:
        return 0.0, 0.0, 0.0
    strengths = np.array(held)
    return (float(np.median(strengths)), float(np.mean(strengths >= CONFIDENT_RESTRIKE)),
            len(held) / len(peaks))


def restrike_features(post: Posteriors, key: int, t: int, previous: int, levels: tuple[float, float, float],
                      chord_frames: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES` row ``(1, 15)`` of an onset at frame ``t`` on ``key``, whose previous accepted
    onset was at frame ``previous`` with the key held since; ``chord_frames`` are the frames of the
    recording's onset peaks from :data:`models.transcribe.ghosts.CHORD_PEAK_FLOOR`."""
    strength = float(post.onset[t, key])
    partner = max((float(post.onset[max(0, t - PARTNER_FRAMES):t + PARTNER_FRAMES + 1, key - interval].max())
                   for interval in PARTNER_INTERVALS if key - interval >= 0), default=0.0)
    row = (key, strength, float(post.onset[previous, key]), t - previous,
           float(post.frame[previous:t + 1, key].min()), float(post.offset[previous + 1:t + 1, key].max()),
           float(post.frame[max(0, t - HOLD_FRAMES):t, key].mean()) if t > 0 else 0.0,
           float(post.frame[t:t + HOLD_FRAMES, key].mean()), float(post.velocity[t, key]),
           float(post.velocity[previous, key]), partner / strength,
           int(np.sum(np.abs(chord_frames - t) <= PARTNER_FRAMES)), *levels)
    return np.array([row], dtype=np.float64)
