"""Write-back from hand-made job outcomes into the stand-in: takes, MIDI, ripple edits, conflicts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
import soundfile as sf

from daemon.reaper.writeback import write_back
from models.clean.edits import Cut, EditEvent, EditList
from tests.reaper_standin.fakedaemon import FakeDaemon
from tests.reaper_standin.fixtures import ReaperEnv, make_wav, one_item_project, reaper  # noqa: F401


@pytest.fixture
def daemon(_isolated_home: Path) -> Iterator[FakeDaemon]:
    fake = FakeDaemon(_isolated_home)
    yield fake
    fake.close()


def capture(reaper: ReaperEnv, daemon: FakeDaemon, script: str, answers: list[str] | None = None) -> dict[str, Any]:  # noqa: F811
    """Run the real action and return the request it sent (the job record's spec and reaper payload)."""
    if answers:
        reaper.standin.control("user-inputs", {"answers": answers})
    run = reaper.standin.run_script(script)
    assert run["error"] is None
    return daemon.posts[-1]


def record(post: dict[str, Any], outputs: list[dict[str, Any]], job_id: str = "j1", *,
           reaper_mode: str | None = None) -> dict[str, Any]:
    """A finished job record as the daemon hands it over; ``reaper_mode`` as a clean preset reports it."""
    summary = {"reaper_mode": reaper_mode} if reaper_mode else {}
    return {"id": job_id, "kind": post["kind"], "state": "done", "spec": {k: post[k] for k in ("kind", "inputs",
            "preset", "options")}, "origin": "reaper", "reaper": post["reaper"],
            "outcome": {"outputs": outputs, "summary": summary, "messages": []}}


def inpainted_copy(source: Path, out: Path, gap_s: tuple[float, float]) -> Path:
    audio, sr = sf.read(source, dtype="int16")
    lo, hi = int(gap_s[0] * sr), int(gap_s[1] * sr)
    audio[lo:hi] = (1000 * np.sin(np.arange(hi - lo) / 5)).astype(np.int16)
    sf.write(out, audio, sr, subtype="PCM_16")
    return out


def test_inpaint_comes_back_as_new_active_take_aligned_with_rate_and_offset(reaper: ReaperEnv,  # noqa: F811
                                                                            daemon: FakeDaemon) -> None:
    source = make_wav(reaper.tmp / "voice.wav", 10.0)
    reaper.standin.load(one_item_project(source, position_s=2.0, length_s=4.0, start_offset_s=1.0, playrate=1.5,
                                         time_selection=(3.0, 3.5)))
    post = capture(reaper, daemon, "reamend_inpaint_time_selection.py")
    gap = post["options"]["gaps"][0]
    out = inpainted_copy(source, reaper.tmp / "voice.inpainted.wav", (gap["start_s"], gap["end_s"]))
    result = write_back(record(post, [{"role": "audio", "path": str(out), "source": str(source)}]), reaper.settings)
    assert result["status"] == "applied", result
    (item,) = reaper.standin.items()
    original, new = item["takes"]
    assert item["active"] == 1 and new["source"] == str(out) and "reamend inpaint" in new["name"]
    assert (new["start_offset_s"], new["playrate"]) == (original["start_offset_s"], original["playrate"]) == (1.0, 1.5)
    assert reaper.standin.state()["undo_history"] == ["reamend: inpaint (job j1)"]
    # Outside the gap the new take's audio is the source's, sample for sample.
    a, sr = sf.read(source, dtype="int16")
    b, _ = sf.read(out, dtype="int16")
    outside = np.ones(a.shape[0], bool)
    outside[int(gap["start_s"] * sr):int(gap["end_s"] * sr)] = False
    assert np.array_equal(a[outside], b[outside]) and not np.array_equal(a, b)
    # Applying the same result again does not add a second take.
    again = write_back(record(post, [{"role": "audio", "path": str(out), "source": str(source)}]), reaper.settings)
    assert again["status"] == "applied" and len(reaper.standin.items()[0]["takes"]) == 2


def test_deleted_item_is_a_conflict_and_keeps_the_output(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    source = make_wav(reaper.tmp / "voice.wav", 4.0)
    reaper.standin.load(one_item_project(source, time_selection=(2.5, 3.0)))
    post = capture(reaper, daemon, "reamend_inpaint_time_selection.py")
    out = shutil.copy(source, reaper.tmp / "voice.inpainted.wav")
    reaper.run(lambda rpr: rpr.DeleteTrackMediaItem(rpr.GetTrack(0, 0), rpr.GetMediaItem(0, 0)))
    result = write_back(record(post, [{"role": "audio", "path": str(out), "source": str(source)}]), reaper.settings)
    assert result["status"] == "conflict" and "deleted" in result["detail"]
    assert Path(out).exists() and result["outputs_in"] == [str(reaper.tmp)]
    assert reaper.standin.state()["undo_history"] == []


def test_source_swapped_under_the_same_item_is_a_conflict(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    source = make_wav(reaper.tmp / "voice.wav", 4.0)
    other = make_wav(reaper.tmp / "other.wav", 4.0, seed=5)
    reaper.standin.load(one_item_project(source, time_selection=(2.5, 3.0)))
    post = capture(reaper, daemon, "reamend_inpaint_time_selection.py")
    reaper.standin.load(one_item_project(other, time_selection=(2.5, 3.0)) | {})
    # Same GUIDs, different file: reuse the captured GUIDs on the new project.
    project = one_item_project(other)
    project["tracks"][0]["items"][0]["guid"] = post["reaper"]["items"][0]["item_guid"]
    project["tracks"][0]["items"][0]["takes"][0]["guid"] = post["reaper"]["items"][0]["take_guid"]
    reaper.standin.load(project)
    result = write_back(record(post, [{"role": "audio", "path": str(source), "source": str(source)}]),
                        reaper.settings)
    assert result["status"] == "conflict" and "now plays" in result["detail"]
    assert len(reaper.standin.items()[0]["takes"]) == 1


def _midi_file(path: Path, notes: list[tuple[float, float, int, int]]) -> Path:
    """Type 1, 480 PPQ, 120 bpm: ``notes`` as (start_s, end_s, pitch, velocity)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    events = sorted([(s, "note_on", p, v) for s, _, p, v in notes] + [(e, "note_off", p, 0) for _, e, p, _ in notes])
    last = 0
    for t, kind, pitch, vel in events:
        tick = round(t * 960)
        track.append(mido.Message(kind, note=pitch, velocity=vel, time=tick - last))
        last = tick
    midi.save(str(path))
    return path


def test_transcription_becomes_a_midi_item_on_a_new_track_under_the_source(reaper: ReaperEnv,  # noqa: F811
                                                                           daemon: FakeDaemon) -> None:
    source = make_wav(reaper.tmp / "piano.wav", 4.0)
    project = one_item_project(source, position_s=2.0, length_s=1.5, start_offset_s=0.25, playrate=2.0)
    project["tracks"].append({"name": "Drums", "items": []})
    reaper.standin.load(project)
    post = capture(reaper, daemon, "reamend_transcribe.py")
    mid = _midi_file(reaper.tmp / "piano.mid", [(0.5, 1.0, 60, 90), (1.0, 1.5, 64, 70), (0.1, 0.2, 30, 50),
                                                 (3.0, 3.6, 72, 100), (3.3, 3.5, 40, 60)])
    result = write_back(record(post, [{"role": "midi", "path": str(mid), "source": str(source)}]), reaper.settings)
    assert result["status"] == "applied", result
    state = reaper.standin.state()
    assert [t["name"] for t in state["tracks"]] == ["Voice", "Voice MIDI (reamend)", "Drums"]
    (midi_item,) = state["tracks"][1]["items"]
    assert (midi_item["position_s"], midi_item["length_s"]) == (2.0, 1.5)
    notes = midi_item["takes"][0]["notes"]
    # Source 0.5 s -> project 2.125 s -> 0.125 s into the item = 240 PPQ at 120 bpm; notes before the
    # start offset or after the item's end (source 3.25 s) are left out, one crossing the end is clipped.
    assert [(n["start_ppq"], n["end_ppq"], n["pitch"], n["vel"]) for n in notes] == [
        (240.0, 720.0, 60, 90), (720.0, 1200.0, 64, 70), (2640.0, 2880.0, 72, 100)]
    assert state["undo_history"] == ["reamend: transcribe (job j1)"]


def _edits(path: Path, *, cuts: list[tuple[float, float]], events: list[EditEvent],
           sources: tuple[str, ...] = ()) -> Path:
    edit_list = EditList(sample_rate=16000, duration_s=10.0, events=tuple(events),
                         cuts=tuple(Cut(a, b) for a, b in cuts), crossfade_ms=10.0, sources=sources)
    import json

    path.write_text(json.dumps(edit_list.to_json()))
    return path


def _podcast(reaper: ReaperEnv) -> tuple[Path, Path, Path]:  # noqa: F811
    host = make_wav(reaper.tmp / "host.wav", 10.0)
    guest = make_wav(reaper.tmp / "guest.wav", 10.0, seed=1)
    music = make_wav(reaper.tmp / "music.wav", 10.0, seed=2)
    reaper.standin.load({"markers": [{"pos_s": 1.0, "number": 1, "name": "intro"},
                                     {"pos_s": 2.5, "number": 2, "name": "inside"},
                                     {"pos_s": 5.0, "number": 3, "name": "chapter 2"},
                                     {"isrgn": True, "pos_s": 8.0, "end_s": 9.0, "number": 1, "name": "ad"}],
                         "tracks": [{"name": "Host", "items": [{"position_s": 0, "length_s": 10, "selected": True,
                                                                "takes": [{"source": str(host)}]}]},
                                    {"name": "Guest", "items": [{"position_s": 0, "length_s": 10, "selected": True,
                                                                 "takes": [{"source": str(guest)}]}]},
                                    {"name": "Music", "items": [{"position_s": 0, "length_s": 10,
                                                                 "takes": [{"source": str(music)}]}]}]})
    return host, guest, music


def test_clean_edit_mode_ripples_multitrack_with_fades_and_moves_markers(reaper: ReaperEnv,  # noqa: F811
                                                                          daemon: FakeDaemon) -> None:
    host, guest, _ = _podcast(reaper)
    post = capture(reaper, daemon, "reamend_clean_selected.py", ["podcast"])
    assert post["options"]["multitrack"] is True
    breath = EditEvent(4.0, 4.3, "breath", "attenuate", gain_db=-15.0)
    host_edits = _edits(reaper.tmp / "host.edits.json", cuts=[(2.0, 3.0), (6.0, 7.0)], events=[breath])
    guest_edits = _edits(reaper.tmp / "guest.edits.json", cuts=[(2.0, 3.0), (6.5, 7.5)], events=[])
    outputs = [{"role": "edits", "path": str(host_edits), "source": str(host)},
               {"role": "edits", "path": str(guest_edits), "source": str(guest)}]
    result = write_back(record(post, outputs), reaper.settings)
    assert result["status"] == "applied", result
    assert result["removed_s"] == pytest.approx(1.5) and result["cuts"] == 2 and result["attenuated"] == 1
    state = reaper.standin.state()
    for track in state["tracks"]:  # every track, music included, lost the same 1.5 s
        end = max(i["position_s"] + i["length_s"] for i in track["items"])
        assert end == pytest.approx(8.5)
        for before, after in zip(track["items"], track["items"][1:], strict=False):
            assert before["position_s"] + before["length_s"] == pytest.approx(after["position_s"] + 0.01)
            assert before["fadeout_s"] == 0.01 and after["fadein_s"] == 0.01
    host_items = state["tracks"][0]["items"]
    quiet = [i for i in host_items if i["volume"] < 1]
    assert len(quiet) == 1 and quiet[0]["volume"] == pytest.approx(10 ** (-15 / 20))
    assert quiet[0]["position_s"] == pytest.approx(3.0)  # 4.0 s minus the first 1 s cut
    # The piece after the first cut plays the source from 3.0 s: the cut material is really gone.
    assert host_items[1]["takes"][0]["start_offset_s"] == pytest.approx(3.0)
    markers = {(m["isrgn"], m["number"]): (m["pos_s"], m["end_s"], m["name"]) for m in state["markers"]}
    assert markers == {(False, 1): (1.0, 1.0, "intro"), (False, 2): (2.0, 2.0, "inside"),
                       (False, 3): (4.0, 4.0, "chapter 2"), (True, 1): (6.5, 7.5, "ad")}
    assert state["undo_history"] == ["reamend: clean (job j1)"]


def test_clean_review_mode_adds_regions_only(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    host, guest, _ = _podcast(reaper)
    post = capture(reaper, daemon, "reamend_clean_selected.py", ["podcast"])
    events = [EditEvent(4.0, 4.3, "breath", "attenuate", track=0, gain_db=-15.0),
              EditEvent(6.0, 7.5, "pause", "shorten", track=None, cut_start_s=6.5, cut_end_s=7.0)]
    edits = _edits(reaper.tmp / "session.edits.json", cuts=[(6.5, 7.0)], events=events,
                   sources=(str(host), str(guest)))
    result = write_back(record(post, [{"role": "edits", "path": str(edits), "source": None}], reaper_mode="review"),
                        reaper.settings)
    assert result["status"] == "applied" and result["regions"] == 3
    state = reaper.standin.state()
    names = sorted(m["name"] for m in state["markers"] if m["name"].startswith("reamend"))
    assert names == ["reamend breath: attenuate", "reamend pause: shorten", "reamend pause: shorten"]
    assert all(len(t["items"]) == 1 for t in state["tracks"])  # nothing cut


def test_clean_after_the_item_moved_is_a_conflict(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    host, _, _ = _podcast(reaper)
    post = capture(reaper, daemon, "reamend_clean_selected.py", ["podcast"])
    reaper.run(lambda rpr: rpr.SetMediaItemInfo_Value(rpr.GetMediaItem(0, 0), "D_POSITION", 0.5))
    edits = _edits(reaper.tmp / "host.edits.json", cuts=[(2.0, 3.0)], events=[])
    result = write_back(record(post, [{"role": "edits", "path": str(edits), "source": str(host)}], reaper_mode="edit"),
                        reaper.settings)
    assert result["status"] == "conflict" and "moved" in result["detail"]
    assert len(reaper.standin.state()["tracks"][2]["items"]) == 1


def test_clean_render_mode_adds_the_cleaned_take(reaper: ReaperEnv, daemon: FakeDaemon) -> None:  # noqa: F811
    source = make_wav(reaper.tmp / "voice.wav", 10.0)
    reaper.standin.load(one_item_project(source, position_s=0.0, length_s=8.0, start_offset_s=2.0))
    post = capture(reaper, daemon, "reamend_clean_selected.py", ["podcast"])
    cleaned = make_wav(reaper.tmp / "voice.cleaned.wav", 9.0)
    edits = _edits(reaper.tmp / "voice.edits.json", cuts=[(1.0, 1.5), (4.0, 4.5)], events=[])
    outputs = [{"role": "audio", "path": str(cleaned), "source": str(source)},
               {"role": "edits", "path": str(edits), "source": str(source)}]
    result = write_back(record(post, outputs, reaper_mode="render"), reaper.settings)
    assert result["status"] == "applied", result
    (item,) = reaper.standin.items()
    take = item["takes"][item["active"]]
    assert take["source"] == str(cleaned) and take["start_offset_s"] == pytest.approx(1.5)
    assert item["length_s"] == pytest.approx(7.5)


def test_reaper_restarted_mid_job_write_back_reconnects_and_finds_items_by_guid(reaper: ReaperEnv,  # noqa: F811
                                                                                daemon: FakeDaemon) -> None:
    source = make_wav(reaper.tmp / "voice.wav", 4.0)
    reaper.standin.load(one_item_project(source, time_selection=(2.5, 3.0)))
    post = capture(reaper, daemon, "reamend_inpaint_time_selection.py")
    assert reaper.run(lambda rpr: rpr.CountMediaItems(0)) == 1  # the bridge holds a live connection
    reaper.standin.control("save", {"path": str(reaper.tmp / "session.RPP")})
    reaper.standin.kill()  # REAPER crashes while the job runs ...
    reaper.standin.start(project=reaper.tmp / "session.RPP")  # ... and the user re-opens the project
    out = inpainted_copy(source, reaper.tmp / "voice.inpainted.wav", (0.5, 1.0))
    result = write_back(record(post, [{"role": "audio", "path": str(out), "source": str(source)}]), reaper.settings)
    assert result["status"] == "applied", result
    assert reaper.standin.items()[0]["takes"][1]["source"] == str(out)


def test_reaper_gone_at_write_back_is_an_error_that_keeps_outputs(reaper: ReaperEnv,  # noqa: F811
                                                                  daemon: FakeDaemon) -> None:
    source = make_wav(reaper.tmp / "voice.wav", 4.0)
    reaper.standin.load(one_item_project(source, time_selection=(2.5, 3.0)))
    post = capture(reaper, daemon, "reamend_inpaint_time_selection.py")
    reaper.standin.stop()
    settings = reaper.settings.model_copy(update={"reaper_timeout_s": 0.5})
    result = write_back(record(post, [{"role": "audio", "path": str(source), "source": str(source)}]), settings)
    assert result["status"] == "error" and "results stay in" in result["detail"]


def test_clean_result_mode_precedence() -> None:
    from daemon.reaper.timeline import mode_from

    labels_only = EditList(sample_rate=48000, duration_s=2.0, cuts=(),
                           events=(EditEvent(start_s=0.5, end_s=1.5, label="pause", action="keep"),))
    assert mode_from([labels_only], None) == "review"
    assert mode_from([labels_only], None, "render") == "render"  # the preset's reaper_mode
    assert mode_from([labels_only], "edit", "render") == "edit"  # the dialog's choice wins
    with pytest.raises(ValueError, match="not one of"):
        mode_from([labels_only], "shred")


def test_preset_reaper_mode_reaches_the_job_summary(tmp_path: Path) -> None:
    from daemon.jobs.clean_preset import PresetSettings

    settings = PresetSettings(reaper_mode="render")
    assert "reaper_mode" not in vars(settings.plan_settings())
    assert PresetSettings().reaper_mode is None
