"""The edit-list IR: JSON round trip, loader errors, merging cuts and rippling times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.clean.edits import Cut, EditEvent, EditList, load_edits, map_time, merge_cuts
from models.clean.export import audacity_labels_text, csv_text, write_json
from models.errors import UserInputError


def _edits() -> EditList:
    events = (
        EditEvent(0.0, 2.0, "pause", "shorten", cut_start_s=0.5, cut_end_s=1.5, kept_s=1.0),
        EditEvent(2.5, 2.8, "breath", "attenuate", track=0, gain_db=-15.0, confidence=0.9),
        EditEvent(3.0, 3.01, "click", "repair", track=1),
    )
    return EditList(sample_rate=48000, duration_s=10.0, events=events, cuts=(Cut(0.5, 1.5), Cut(4.0, 4.25)))


def test_map_time_moves_material_after_cuts_and_pins_times_inside_a_cut() -> None:
    cuts = merge_cuts([Cut(4.0, 4.25), Cut(0.5, 1.5)])
    assert map_time(0.2, cuts) == pytest.approx(0.2)
    assert map_time(1.0, cuts) == pytest.approx(0.5)  # inside the first cut: lands on the join
    assert map_time(2.0, cuts) == pytest.approx(1.0)
    assert map_time(4.1, cuts) == pytest.approx(3.0)
    assert map_time(9.0, cuts) == pytest.approx(7.75)
    with pytest.raises(ValueError):
        map_time(float("nan"), cuts)


def test_merge_cuts_sorts_merges_overlaps_and_drops_empty() -> None:
    merged = merge_cuts([Cut(3, 4), Cut(1, 2), Cut(1.5, 2.5), Cut(5, 5)])
    assert merged == (Cut(1, 2.5), Cut(3, 4))


def test_json_has_the_issue_keys_and_round_trips(tmp_path: Path) -> None:
    edits = _edits()
    path = write_json(edits, tmp_path / "x.edits.json")
    data = json.loads(path.read_text())
    assert data["sample_rate"] == 48000 and data["duration_s"] == 10.0
    assert data["cuts"] == [{"start_s": 0.5, "end_s": 1.5}, {"start_s": 4.0, "end_s": 4.25}]
    first = data["events"][0]
    assert {"start_s", "end_s", "label", "action"} <= set(first)
    assert first["cut_start_s"] == 0.5 and first["kept_s"] == 1.0
    assert data["events"][1]["gain_db"] == -15.0
    loaded = load_edits(path)
    assert loaded.events == edits.events
    assert loaded.cuts == edits.cuts
    assert loaded.cleaned_duration_s == pytest.approx(8.75)


def test_loader_rejects_unknown_labels_and_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.edits.json"
    bad.write_text(json.dumps({"sample_rate": 1, "duration_s": 1, "events": [
        {"start_s": 0, "end_s": 1, "label": "cough", "action": "keep"}]}))
    with pytest.raises(UserInputError, match="cough"):
        load_edits(bad)
    bad.write_text("{not json")
    with pytest.raises(UserInputError):
        load_edits(bad)
    bad.write_text(json.dumps({"events": []}))
    with pytest.raises(UserInputError, match="not a valid edit list"):
        load_edits(bad)


def test_csv_and_audacity_labels_list_every_event() -> None:
    edits = _edits()
    rows = csv_text(edits).strip().splitlines()
    assert rows[0].startswith("start_s,end_s,duration_s,label,action")
    assert len(rows) == 1 + len(edits.events)
    labels = audacity_labels_text(edits).strip().splitlines()
    assert labels[1].split("\t") == ["2.500000", "2.800000", "breath: attenuate -15 dB (track 1)"]
    assert all(len(line.split("\t")) == 3 for line in labels)
