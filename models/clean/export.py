"""Sibling exporters of one :class:`EditList`: JSON, CSV and Audacity labels."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from models.atomic import write_text_atomic
from models.clean.edits import EditList

CSV_COLUMNS = ("start_s", "end_s", "duration_s", "label", "action", "track", "confidence", "gain_db",
               "cut_start_s", "cut_end_s", "kept_s")


def write_json(edits: EditList, path: Path) -> Path:
    write_text_atomic(path, json.dumps(edits.to_json(), indent=2) + "\n")
    return path


def csv_text(edits: EditList) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in edits.events:
        row = event.to_json()
        row["duration_s"] = round(event.duration_s, 4)
        writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
    return buffer.getvalue()


def write_csv(edits: EditList, path: Path) -> Path:
    write_text_atomic(path, csv_text(edits))
    return path


def audacity_labels_text(edits: EditList) -> str:
    """Audacity's label track format: ``start<TAB>end<TAB>text`` per line, seconds."""
    lines = []
    for event in edits.events:
        track = "" if event.track is None else f" (track {event.track + 1})"
        detail = f" {event.gain_db:g} dB" if event.gain_db is not None else ""
        lines.append(f"{event.start_s:.6f}\t{event.end_s:.6f}\t{event.label}: {event.action}{detail}{track}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_audacity_labels(edits: EditList, path: Path) -> Path:
    write_text_atomic(path, audacity_labels_text(edits))
    return path
