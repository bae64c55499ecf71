"""Choosing decoding thresholds on the selection pieces (never on the benchmark pieces).

The network's posteriors are computed once per piece; each candidate setting
only re-runs the cheap decoder, so a grid of a few hundred settings costs
minutes, not hours. The objective is the one checkpoints are selected by:
onset F1 plus half the onset+offset F1 (offsets matter, onsets matter more).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from models.transcribe.decode import DecodeSettings, Posteriors, Rescorers, decode
from models.transcribe.evaluate import mean_scores, notes_matrix, score, selection_objective

#: The default search: the thresholds that trade recall against precision, and the offset snap.
DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "onset_threshold": (0.3, 0.35, 0.4, 0.5),
    "frame_threshold": (0.4, 0.5),
    "retrigger_threshold": (0.5, 0.6, 0.7),
    "ghost_ratio": (0.6, 0.7, 0.8),
    "ghost_frame_threshold": (0.7, 0.8, 0.85),
    "offset_snap_threshold": (0.1, 0.2),
}

#: A quicker first search: the onset and re-trigger thresholds and the octave-ghost rule, what moved
#: most between checkpoints (the other thresholds keep their defaults). Re-trigger thresholds on
#: both sides of the default: of the re-strikes run 5 missed on the selection pieces, a quarter had
#: an onset peak between 0.3 and 0.5 that the default 0.5 dropped, while the re-strike fine-tune
#: (run 6) strikes more often, falsely too.
NARROW_GRID: dict[str, tuple[float, ...]] = {
    "onset_threshold": (0.25, 0.3, 0.35, 0.4),
    "retrigger_threshold": (0.4, 0.5, 0.6),
    "ghost_ratio": (0.5, 0.6, 0.7),
    "ghost_frame_threshold": (0.6, 0.7, 0.8),
}

#: The rescorers' keep thresholds, searched in both rescorer grids: with rescorers the octave-ghost rule's
#: two thresholds and the re-trigger threshold give way to them (the re-trigger threshold still applies
#: when no re-strike rescorer is given).
KEEP_GRID: dict[str, tuple[float, ...]] = {
    "ghost_keep_threshold": (0.4, 0.5, 0.6),
    "restrike_keep_threshold": (0.3, 0.4, 0.5, 0.6),
}
RESCORER_GRID: dict[str, tuple[float, ...]] = {"onset_threshold": (0.35, 0.4, 0.45, 0.5), **KEEP_GRID}
RESCORER_DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    **{name: values for name, values in DEFAULT_GRID.items()
       if not name.startswith("ghost_") and name != "retrigger_threshold"},
    **KEEP_GRID,
}

#: The second search, on top of the best thresholds: the pedal-release rule (keys 0 = off).
RELEASE_GRID: dict[str, tuple[float, ...]] = {
    "release_keys": (0, 6, 8, 11, 15),
    "release_threshold": (0.15, 0.2, 0.3),
    "release_lookahead_frames": (50, 100, 150),
}


@dataclass(frozen=True)
class TuningResult:
    settings: DecodeSettings
    scores: dict[str, float]

    @property
    def objective(self) -> float:
        return selection_objective(self.scores)


def tune_decoding(posteriors: Sequence[Posteriors], truths: Sequence[np.ndarray], *,
                  grid: Mapping[str, Sequence[float]] | None = None,
                  base: DecodeSettings | None = None, rescorers: Rescorers | None = None) -> list[TuningResult]:
    """Every combination of ``grid`` (``DecodeSettings`` field name to values) with its mean scores,
    best first by onset F1 plus half the onset+offset F1, decoded with ``rescorers`` if given. The
    retrigger threshold is never set below the onset threshold (a re-strike needs at least what a first
    strike needs)."""
    start = base or DecodeSettings()
    search = dict(DEFAULT_GRID if grid is None else grid)
    known = {f.name for f in fields(DecodeSettings)}
    unknown = set(search) - known
    if unknown:
        raise ValueError(f"not decoding settings: {sorted(unknown)}")
    results = []
    for values in itertools.product(*search.values()):
        changes: dict[str, Any] = dict(zip(search, values, strict=True))
        settings = replace(start, **changes)
        settings = replace(settings, retrigger_threshold=max(settings.onset_threshold, settings.retrigger_threshold))
        scores = []
        for post, truth in zip(posteriors, truths, strict=True):
            scores.append(score(truth, notes_matrix(decode(post, settings, rescorers=rescorers))))
        results.append(TuningResult(settings, mean_scores(scores)))
    results.sort(key=lambda r: -r.objective)
    return results
