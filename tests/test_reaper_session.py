"""Offline .RPP sessions: the same edits as the live write-back, into a new file, never the original."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.reaper.rppfile import RppOps, RppProject, clean_project_file
from daemon.reaper.writeback import write_back
from models.clean.edits import Cut, EditEvent, EditList
from models.errors import UserInputError
from tests.reaper_standin.fakedaemon import FakeDaemon
from tests.reaper_standin.fixtures import ReaperEnv, make_wav, reaper  # noqa: F401
from tests.reaper_standin.model import load_rpp
from tests.test_reaper_writeback import _podcast, capture, record

REAL_RPP = """<REAPER_PROJECT 0.1 "7.22/linux-x86_64" 1730000000
  RIPPLE 0
  TEMPO 120 4 4
  MARKER 1 1.5 "Intro" 0 0 1 R {11111111-1111-1111-1111-111111111111} 0
  MARKER 2 3 "Chapter" 1 0 1 R {22222222-2222-2222-2222-222222222222} 0
  MARKER 2 5 "" 1
  <TRACK {AAAAAAAA-0000-0000-0000-000000000001}
    NAME Host
    <ITEM
      POSITION 1
      SNAPOFFS 0
      LENGTH 6
      LOOP 1
      ALLTAKES 0
      FADEIN 1 0.01 0 1 0 0 0
      FADEOUT 1 0.01 0 1 0 0 0
      MUTE 0 0
      SEL 1
      IGUID {BBBBBBBB-0000-0000-0000-000000000001}
      IID 1
      NAME "host take"
      VOLPAN 1 0 1 -1
      SOFFS 0.5
      PLAYRATE 1.25 1 0 -1 0 0.0025
      CHANMODE 0
      GUID {CCCCCCCC-0000-0000-0000-000000000001}
      <SOURCE WAVE
        FILE "audio/host.wav"
      >
      TAKE SEL
      NAME alt
      VOLPAN 1 0 1 -1
      SOFFS 0.5
      PLAYRATE 1.25 1 0 -1 0 0.0025
      CHANMODE 0
      GUID {CCCCCCCC-0000-0000-0000-000000000002}
      <SOURCE WAVE
        FILE "audio/host.wav"
      >
    >
  >
>
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit_list(cuts: list[tuple[float, float]], events: tuple[EditEvent, ...] | list[EditEvent] = ()) -> EditList:
    return EditList(sample_rate=16000, duration_s=10.0, events=tuple(events), cuts=tuple(Cut(*c) for c in cuts))


def test_real_reaper_file_parses_and_splits_every_take(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    make_wav(tmp_path / "audio" / "host.wav", 10.0)
    original = tmp_path / "show.RPP"
    original.write_text(REAL_RPP)
    before = _sha(original)
    project = RppProject.load(original)
    (item,) = project.placed_items()
    # The active take is the TAKE SEL one; relative FILE paths resolve against the project folder.
    assert item.source == str(tmp_path / "audio" / "host.wav")
    assert (item.position_s, item.length_s, item.start_offset_s, item.playrate) == (1.0, 6.0, 0.5, 1.25)
    # Source 2.5-3.5 s plays at project 1 + (2.5 - 0.5) / 1.25 = 2.6 s to 3.4 s.
    summary = clean_project_file(project, [(_edit_list([(2.5, 3.5)]), item.source)], {}, mode="edit")
    assert summary["removed_s"] == pytest.approx(0.8)
    out = tmp_path / "show.clean.RPP"
    project.save(out)
    assert _sha(original) == before
    with pytest.raises(UserInputError):
        project.save(original)
    saved = RppProject.load(out)
    pieces = sorted(saved.placed_items(), key=lambda i: i.position_s)
    first, second = pieces
    assert (first.position_s, second.position_s) == (1.0, pytest.approx(2.6))
    assert first.length_s == pytest.approx(1.6 + 0.01)  # crossfade overlap
    assert second.length_s == pytest.approx(6.0 - 1.6 - 0.8) and second.start_offset_s == pytest.approx(3.5)
    ops = RppOps(saved)
    items = ops.all_items()
    assert len({ops.item_key(i) for i in items}) == 2  # the split part has its own GUID
    markers = [(m.isrgn, m.pos_s, m.end_s, m.number) for m in ops.markers()]
    assert markers == [(False, 1.5, 1.5, 1), (True, pytest.approx(2.6), pytest.approx(4.2), 2)]
    text = out.read_text()
    assert '"Chapter"' in text or "Chapter" in text


def _shape(rpp_path: Path) -> dict[str, Any]:
    project = load_rpp(rpp_path)
    tracks = []
    for track in project.tracks:
        items = sorted(track.items, key=lambda i: i.position_s)
        tracks.append([(round(i.position_s, 6), round(i.length_s, 6), round(i.fadein_s, 6), round(i.fadeout_s, 6),
                        round(i.volume, 6), [round(t.start_offset_s, 6) for t in i.takes]) for i in items])
    markers = [(m.isrgn, round(m.pos_s, 6), round(m.end_s, 6), m.number, m.name) for m in project.sorted_markers()]
    return {"tracks": tracks, "markers": markers}


def test_offline_and_live_make_the_same_edits(reaper: ReaperEnv, _isolated_home: Path) -> None:  # noqa: F811
    host, guest, _ = _podcast(reaper)
    saved = reaper.tmp / "podcast.RPP"
    reaper.standin.control("save", {"path": str(saved)})
    before = _sha(saved)
    breath = EditEvent(4.0, 4.3, "breath", "attenuate", gain_db=-15.0)
    edits = [(_edit_list([(2.0, 3.0), (6.0, 7.0)], [breath]), str(host)),
             (_edit_list([(2.0, 3.0), (6.5, 7.5)]), str(guest))]
    for index, (edit_list, _) in enumerate(edits):
        (reaper.tmp / f"{index}.edits.json").write_text(json.dumps(edit_list.to_json()))

    project = RppProject.load(saved)
    clean_project_file(project, edits, {}, mode="edit")
    project.save(reaper.tmp / "offline.RPP")

    daemon = FakeDaemon(_isolated_home)
    try:
        post = capture(reaper, daemon, "reamend_clean_selected.py", ["podcast,edit"])
    finally:
        daemon.close()
    outputs = [{"role": "edits", "path": str(reaper.tmp / f"{i}.edits.json"), "source": src}
               for i, (_, src) in enumerate(edits)]
    assert write_back(record(post, outputs), reaper.settings)["status"] == "applied"
    reaper.standin.control("save", {"path": str(reaper.tmp / "live.RPP")})

    offline, live = _shape(reaper.tmp / "offline.RPP"), _shape(reaper.tmp / "live.RPP")
    assert offline == live
    assert offline["markers"][2][1] == 4.0 and len(offline["tracks"][2]) == 3  # music rippled too
    assert _sha(saved) == before


def test_review_and_render_modes_offline(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    source = make_wav(tmp_path / "audio" / "host.wav", 10.0)
    (tmp_path / "show.RPP").write_text(REAL_RPP)
    events = [EditEvent(3.0, 3.2, "breath", "attenuate", gain_db=-12.0)]
    project = RppProject.load(tmp_path / "show.RPP")
    assert clean_project_file(project, [(_edit_list([], events), str(source))], {}, mode="review") == {
        "mode": "review", "regions": 1}
    assert any(m.isrgn and m.number != 2 for m in RppOps(project).markers())
    project = RppProject.load(tmp_path / "show.RPP")
    cleaned = make_wav(tmp_path / "host.cleaned.wav", 9.0)
    summary = clean_project_file(project, [(_edit_list([(1.0, 2.0)]), str(source))], {str(source): cleaned},
                                 mode="render")
    assert summary == {"mode": "render", "rendered_takes": 1}
    project.save(tmp_path / "render.RPP")
    (item,) = RppProject.load(tmp_path / "render.RPP").placed_items()
    assert item.source == str(cleaned) and item.start_offset_s == pytest.approx(0.5)
    assert item.length_s == pytest.approx((8.0 - 0.5 - 1.0) / 1.25)  # visible source 0.5-8 s minus the cut


def test_session_command_rejects_bad_input_with_exit_code_2(tmp_path: Path) -> None:
    missing = subprocess.run([sys.executable, "-m", "daemon.cli", "session", "apply", "podcast-gentle",
                              str(tmp_path / "nope.RPP")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "project not found" in missing.stderr
    (tmp_path / "show.RPP").write_text(REAL_RPP)
    absent_audio = subprocess.run([sys.executable, "-m", "daemon.cli", "session", "apply", "podcast-gentle",
                                   str(tmp_path / "show.RPP")], capture_output=True, text=True, timeout=60)
    assert absent_audio.returncode == 2 and "not found" in absent_audio.stderr


def test_result_mode_follows_request_then_preset_then_what_the_preset_decided() -> None:
    from daemon.reaper.timeline import mode_from

    keep = EditList(sample_rate=16000, duration_s=1.0, events=(EditEvent(0.1, 0.2, "pause", "keep"),), cuts=())
    cut = EditList(sample_rate=16000, duration_s=1.0, events=(EditEvent(0.1, 0.2, "bump", "cut"),), cuts=())
    assert mode_from([keep], None) == "review" and mode_from([keep, cut], None) == "edit"
    assert mode_from([cut], "render") == "render" and mode_from([_edit_list([])], None) == "review"
    with pytest.raises(ValueError, match="not one of"):
        mode_from([cut], "shred")


def test_a_multitrack_session_list_beside_every_input_counts_once() -> None:
    from daemon.reaper.timeline import PlacedItem, plan_clean

    breath = EditEvent(1.0, 1.2, "breath", "attenuate", track=0, gain_db=-15.0)
    session = EditList(sample_rate=16000, duration_s=4.0, events=(breath,), cuts=(Cut(2.0, 2.5),),
                       sources=("/a.wav", "/b.wav"))
    items = [PlacedItem("A", "ta", "/a.wav", 0.0, 4.0, 0.0, 1.0), PlacedItem("B", "tb", "/b.wav", 0.0, 4.0, 0.0, 1.0)]
    plan = plan_clean(items, [(session, "/a.wav"), (session, "/b.wav")])
    assert plan.removals == ((2.0, 2.5),)
    assert [(a.item_key, a.gain_db) for a in plan.attenuations] == [("A", -15.0)]  # on A's track only, once
