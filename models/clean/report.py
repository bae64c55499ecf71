"""The ``--report`` PNG: each track's level envelope with events coloured by label and action."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.atomic import atomic_path
from models.clean.detect import TrackAnalysis
from models.clean.edits import EditList
from models.clean.labels import FRAME_S

LABEL_COLOURS = {"pause": "#9e9e9e", "breath": "#42a5f5", "click": "#ef5350", "bump": "#ab47bc",
                 "noise": "#ffa726"}
#: Opacity says how strongly the audio is changed.
ACTION_ALPHA = {"keep": 0.15, "attenuate": 0.45, "repair": 0.6, "shorten": 0.35, "cut": 0.8}
MAX_POINTS = 8000


def _envelope(energy_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    amplitude = 10 ** (energy_db.astype(np.float64) / 20)
    bucket = max(1, int(np.ceil(amplitude.shape[0] / MAX_POINTS)))
    count = amplitude.shape[0] // bucket
    peaks = amplitude[: count * bucket].reshape(count, bucket).max(axis=1) if count else amplitude
    times = (np.arange(peaks.shape[0]) * bucket + bucket / 2) * FRAME_S
    return times, peaks


def write_report(edits: EditList, analyses: Sequence[TrackAnalysis], path: Path, *,
                 names: Sequence[str] = ()) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    rows = max(1, len(analyses))
    figure, axes = plt.subplots(rows, 1, figsize=(14, 2.2 * rows + 1.4), sharex=True, squeeze=False)
    for track, (axis, analysis) in enumerate(zip(axes[:, 0], analyses, strict=True)):
        times, peaks = _envelope(analysis.energy_db)
        axis.fill_between(times, -peaks, peaks, color="#263238", linewidth=0)
        top = float(peaks.max()) if peaks.size else 1.0
        for event in edits.events_for_track(track):
            axis.axvspan(event.start_s, event.end_s, color=LABEL_COLOURS[event.label],
                         alpha=ACTION_ALPHA[event.action], linewidth=0)
            if event.action in ("shorten", "cut") and event.cut_start_s is not None and event.cut_end_s is not None:
                axis.hlines(top * 1.05, event.cut_start_s, event.cut_end_s, color="#d32f2f", linewidth=3)
        axis.set_ylim(-top * 1.15, top * 1.15)
        axis.set_yticks([])
        axis.set_ylabel(names[track] if track < len(names) else f"track {track + 1}", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 0].set_xlim(0, max(edits.duration_s, FRAME_S))
    handles = [Patch(color=c, label=label) for label, c in LABEL_COLOURS.items()]
    handles.append(Patch(color="#d32f2f", label="time removed"))
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    figure.suptitle(f"reamend clean: {len(edits.events)} events, {edits.removed_s:.1f} s removed of "
                    f"{edits.duration_s:.1f} s (opacity: keep < attenuate < cut)", fontsize=10, x=0.01,
                    ha="left")
    figure.tight_layout(rect=(0, 0.08, 1, 0.95))
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)
    return path
