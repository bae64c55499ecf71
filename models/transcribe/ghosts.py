"""Octave ghosts decided per recording: is an onset a struck key, or a partial of a stronger note below?

Every piano partial of a note lands on another key's onset detector (the 2nd on the octave, the
3rd on the twelfth, the 4th on two octaves), so a chord lights keys that were never struck. The
fixed rule in :mod:`models.transcribe.decode` (drop an onset weaker than ``ghost_ratio`` times
a coinciding one a partial interval below, or whose frame probability does not hold) suits one
piano's partial balance: on the held-out piano's selection pieces it dropped 370 real notes and kept
270 ghosts among 3522 such onsets, because that piano's second partial is stronger than the
training pianos'. How strongly a lone, confident note lights the key an octave up *in this
recording* measures exactly that balance, so the rescorer here sees it (:data:`FEATURES` ``ghost_level``
and ``ghost_level_q75``: the median and upper quartile over the recording's confident onsets) beside the
onset's and its partner's posteriors, and decides per recording.

The decision is a boosted tree ensemble (:mod:`models.transcribe.trees`) fitted on the network's
posteriors of fresh renders of the *training* pianos (:mod:`models.transcribe.rescorer_fit`); the held-out
piano only chooses its threshold. This module computes its features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.transcribe.decode import Posteriors

#: Intervals (semitones) at which a stronger onset below makes an onset a ghost candidate.
PARTNER_INTERVALS = (12, 19, 24)
#: Frames (each side) within which the partner's onset must fall.
PARTNER_FRAMES = 2
#: Onsets at least this confident set the recording's ghost level.
CONFIDENT_ONSET = 0.7
#: Onset peaks from this probability count towards the chord size.
CHORD_PEAK_FLOOR = 0.2
FEATURES = ("key", "interval", "strength", "partner_strength", "ratio", "hold", "velocity", "partner_velocity",
            "ghost_level", "ghost_level_q75", "hold_before", "partner_hold", "chord_size", "hold_long",
            "frames_after_partner")


def ghost_level(onset: np.ndarray, peaks: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """Median and upper quartile, over the recording's confident onset peaks, of the strongest onset an
    octave up within :data:`PARTNER_FRAMES`, relative to the peak: how loudly this piano's second partial
    speaks on the octave's detector (0 when the recording has no confident onset)."""
    ratios = [float(onset[max(0, t - PARTNER_FRAMES):t + PARTNER_FRAMES + 1, k + 12].max() / onset[t, k])
              for t, k in peaks if onset[t, k] >= CONFIDENT_ONSET and k + 12 < onset.shape[1]]
    if not ratios:
        return 0.0, 0.0
    return float(np.median(ratios)), float(np.percentile(ratios, 75))


def ghost_features(post: Posteriors, candidates: Sequence[tuple[int, int, float]],
                   floor_peaks: Sequence[tuple[int, int]]) -> tuple[list[int], np.ndarray]:
    """The candidates (``(frame, key, strength)`` onset peaks) that coincide with a stronger candidate a
    partner interval below, as indices into ``candidates``, and their :data:`FEATURES` rows ``(n, 15)``.

    ``floor_peaks`` are the recording's onset peaks from :data:`CHORD_PEAK_FLOOR` (for the ghost level and
    the chord size), whatever the decoding's onset threshold.
    """
    level, level_q75 = ghost_level(post.onset, floor_peaks)
    peak_frames = np.array([t for t, _ in floor_peaks], dtype=np.int64)
    by_key: dict[int, list[tuple[int, float]]] = {}
    for t, k, strength in candidates:
        by_key.setdefault(k, []).append((t, strength))
    indices: list[int] = []
    rows: list[tuple[float, ...]] = []
    for index, (t, k, strength) in enumerate(candidates):
        partner: tuple[int, float, int] | None = None
        for interval in PARTNER_INTERVALS:
            for other_t, other_strength in by_key.get(k - interval, ()):
                if abs(other_t - t) <= PARTNER_FRAMES and other_strength > strength and (
                        partner is None or other_strength > partner[1]):
                    partner = (interval, other_strength, other_t)
        if partner is None:
            continue
        interval, partner_strength, partner_t = partner
        low = k - interval
        rows.append((k, interval, strength, partner_strength, strength / partner_strength,
                     float(np.mean(post.frame[t:t + 6, k])), float(post.velocity[t, k]),
                     float(post.velocity[partner_t, low]), level, level_q75,
                     float(np.mean(post.frame[max(0, t - 6):max(1, t - 1), k])),
                     float(np.mean(post.frame[partner_t:partner_t + 6, low])),
                     int(np.sum(np.abs(peak_frames - t) <= PARTNER_FRAMES)),
                     float(np.mean(post.frame[t:t + 15, k])), t - partner_t))
        indices.append(index)
    return indices, np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))
