"""The pure core of the clean job: files in, analyses and one edit list out.

``load_detector`` fetches the shipped model through the registry; callers may
pass any model with the same interface (tests use a tiny untrained one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.clean.detect import TrackAnalysis, analyse, measure_file
from models.clean.edits import EditList
from models.clean.planner import PlanSettings, plan
from models.progress import CancelToken, ProgressFn, no_progress, scaled

MODEL_NAME = "clean-framenet"


@dataclass(frozen=True)
class CleanResult:
    edits: EditList
    analyses: tuple[TrackAnalysis, ...]


def load_detector(*, device: str = "auto") -> Any:
    from models.registry import load_model

    return load_model(MODEL_NAME, device=device)


def analyse_file(path: Path, model: Any, *, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> TrackAnalysis:
    sink = progress or no_progress
    raw, duration_s, sample_rate = measure_file(path, progress=scaled(sink, 0.0, 0.6), cancel=cancel)
    return analyse(raw, model, duration_s=duration_s, sample_rate=sample_rate, progress=scaled(sink, 0.6, 1.0),
                   cancel=cancel)


def clean_session(paths: Sequence[Path], model: Any, settings: PlanSettings, *, preset: str | None = None,
                  progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> CleanResult:
    """Analyse every track, then plan them together (one path: a single file)."""
    sink = progress or no_progress
    analyses = []
    for index, path in enumerate(paths):
        part = scaled(sink, index / len(paths), (index + 1) / len(paths))
        analyses.append(analyse_file(path, model, progress=part, cancel=cancel))
    edits = plan(analyses, settings, sources=[str(p) for p in paths], preset=preset)
    return CleanResult(edits=edits, analyses=tuple(analyses))
