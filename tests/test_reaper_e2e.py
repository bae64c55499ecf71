"""End to end: action in the stand-in -> real daemon and job runner -> write-back through real reapy."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from daemon.client import DaemonClient
from daemon.jobs.base import JobSpec
from tests.daemon_support.harness import DaemonProcess, wait_for
from tests.reaper_standin.fixtures import ReaperEnv, make_wav, one_item_project, reaper  # noqa: F401

TARGET_S = 2.0


@pytest.fixture
def daemon(reaper: ReaperEnv, _isolated_home: Path) -> Iterator[DaemonProcess]:  # noqa: F811
    settings = reaper.settings
    process = DaemonProcess(_isolated_home, module="tests.reaper_standin.real_daemon",
                            REAMEND_REAPER_WEB_PORT=str(settings.reaper_web_port),
                            REAMEND_REAPER_SERVER_PORT=str(settings.reaper_server_port),
                            REAMEND_REAPER_TIMEOUT_S="5", REAMEND_USER_PRESETS_DIR=str(settings.user_presets_dir))
    process.start(timeout_s=60)
    try:
        yield process
    finally:
        process.signal()
        try:
            process.wait(timeout_s=30)
        finally:
            process.close()


def dropout_source(path: Path, *, gap_s: tuple[float, float], seconds: float = 10.0) -> Path:
    make_wav(path, seconds)
    audio, sr = sf.read(path, dtype="int16")
    audio[int(gap_s[0] * sr):int(gap_s[1] * sr)] = 0
    sf.write(path, audio, sr, subtype="PCM_16")
    return path


def speechy_wav(path: Path, *, seed: int) -> Path:
    """Syllable-rate modulated voice-like tone, with a long shared pause from 3 to 6.5 s."""
    sr = 16000
    rng = np.random.default_rng(seed)
    t = np.arange(10 * sr) / sr
    envelope = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t + seed)) ** 2
    voice = 0.3 * np.sin(2 * np.pi * (140 + 20 * np.sin(2 * np.pi * 3 * t)) * t) + 0.05 * rng.standard_normal(t.size)
    signal = voice * envelope
    pause = (t > 3) & (t < 6.5)
    signal[pause] = 0.001 * rng.standard_normal(int(pause.sum()))
    sf.write(path, signal.astype(np.float32), sr, subtype="PCM_16")
    return path


def finished(client: DaemonClient, job_id: str) -> dict[str, Any]:
    return wait_for(lambda: (r := client.get(job_id))["state"] in ("done", "failed", "cancelled") and r,
                    timeout_s=60, what=f"job {job_id}")


def warm_up(client: DaemonClient, source: Path, tmp: Path) -> None:
    job = client.submit(JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp / "warm",
                                options={"gaps": [{"start_s": 1.0, "end_s": 1.5}]}), origin="cli")
    assert finished(client, job)["state"] == "done"


def test_inpaint_action_round_trip_under_two_seconds(reaper: ReaperEnv, daemon: DaemonProcess) -> None:  # noqa: F811
    client = daemon.client
    assert client is not None
    source = dropout_source(reaper.tmp / "voice.wav", gap_s=(4.0, 4.5))
    warm_up(client, source, reaper.tmp)
    # Item at 1 s playing the source from 0.5 s at rate 1.25: source 4.0-4.5 s is project 3.8-4.2 s.
    reaper.standin.load(one_item_project(source, position_s=1.0, length_s=6.0, start_offset_s=0.5,
                                         playrate=1.25, time_selection=(3.8, 4.2)))
    started = time.perf_counter()
    run = reaper.standin.run_script("reamend_inpaint_time_selection.py")
    action_ms = run["elapsed_ms"]
    item = wait_for(lambda: (i := reaper.standin.items()[0]) and len(i["takes"]) == 2 and i,
                    timeout_s=30, interval_s=0.02, what="the new take")
    round_trip_s = time.perf_counter() - started
    print(f"\naction returned in {action_ms:.1f} ms; 0.5 s gap in a 10 s item back as a take in {round_trip_s:.2f} s")
    assert run["error"] is None and action_ms < 100
    assert round_trip_s < TARGET_S
    (record,) = [j for j in client.list() if j["origin"] == "reaper"]
    record = finished(client, record["id"])
    assert record["writeback"]["status"] == "applied", record["writeback"]
    new = item["takes"][item["active"]]
    assert item["active"] == 1 and (new["start_offset_s"], new["playrate"]) == (0.5, 1.25)
    original, sr = sf.read(source, dtype="int16")
    filled, filled_sr = sf.read(new["source"], dtype="int16")
    lo, hi = int(4.0 * sr), int(4.5 * sr)
    assert filled_sr == sr and filled.shape == original.shape
    assert np.array_equal(filled[:lo], original[:lo]) and np.array_equal(filled[hi:], original[hi:])
    assert np.abs(filled[lo:hi].astype(float)).mean() > 100  # the dropout is filled, not left silent
    assert reaper.standin.state()["undo_history"] == [f"reamend: inpaint (job {record['id']})"]
    assert reaper.standin.run_script("reamend_status.py")["error"] is None
    status = reaper.standin.messages()["console"][-1]
    assert f"daemon pid {daemon.process.pid}" in status and f"{record['id']} inpaint" in status  # type: ignore[union-attr]
    assert "applied" in status


def test_detect_and_two_quick_actions_each_come_back(reaper: ReaperEnv, daemon: DaemonProcess) -> None:  # noqa: F811
    client = daemon.client
    assert client is not None
    a = dropout_source(reaper.tmp / "a.wav", gap_s=(2.0, 2.05), seconds=4.0)
    b = dropout_source(reaper.tmp / "b.wav", gap_s=(1.0, 1.2), seconds=4.0)
    reaper.standin.load({"time_selection": [6.0, 6.2], "tracks": [{"name": "A", "items": [
        {"position_s": 0, "length_s": 4, "selected": True, "takes": [{"source": str(a)}]},
        {"position_s": 5, "length_s": 4, "takes": [{"source": str(b)}]}]}]})
    first = reaper.standin.run_script("reamend_detect_dropouts.py")
    reaper.standin.control("select", {"item_guids": [reaper.standin.items()[1]["guid"]]})
    second = reaper.standin.run_script("reamend_inpaint_time_selection.py")
    assert first["error"] is None and second["error"] is None
    wait_for(lambda: all(len(i["takes"]) == 2 for i in reaper.standin.items()), timeout_s=60, what="both takes")
    jobs = [finished(client, j["id"]) for j in client.list() if j["origin"] == "reaper"]
    assert sorted(j["writeback"]["status"] for j in jobs) == ["applied", "applied"]
    assert len(reaper.standin.state()["undo_history"]) == 2


def test_item_deleted_while_the_job_runs_is_a_conflict(reaper: ReaperEnv, daemon: DaemonProcess) -> None:  # noqa: F811
    client = daemon.client
    assert client is not None
    source = dropout_source(reaper.tmp / "voice.wav", gap_s=(2.0, 2.5), seconds=4.0)
    reaper.standin.load(one_item_project(source, position_s=0.0, length_s=4.0, time_selection=(2.0, 2.5)))
    reaper.standin.run_script("reamend_inpaint_time_selection.py")
    daemon.signal(signal.SIGSTOP)  # hold the job while the user deletes the item
    try:
        reaper.run(lambda rpr: rpr.DeleteTrackMediaItem(rpr.GetTrack(0, 0), rpr.GetMediaItem(0, 0)))
    finally:
        daemon.signal(signal.SIGCONT)
    (job,) = client.list()
    record = finished(client, job["id"])
    assert record["state"] == "done" and record["writeback"]["status"] == "conflict"
    assert all(Path(o["path"]).exists() for o in record["outcome"]["outputs"])


def test_reaper_restarted_mid_job(reaper: ReaperEnv, daemon: DaemonProcess) -> None:  # noqa: F811
    client = daemon.client
    assert client is not None
    source = dropout_source(reaper.tmp / "voice.wav", gap_s=(2.0, 2.5), seconds=4.0)
    reaper.standin.load(one_item_project(source, position_s=0.0, length_s=4.0, time_selection=(2.0, 2.5)))
    reaper.standin.control("save", {"path": str(reaper.tmp / "session.RPP")})
    assert reaper.run(lambda rpr: rpr.CountMediaItems(0)) == 1  # a live connection that is about to go stale
    reaper.standin.run_script("reamend_inpaint_time_selection.py")
    daemon.signal(signal.SIGSTOP)
    try:
        reaper.standin.kill()
        reaper.standin.start(project=reaper.tmp / "session.RPP")
    finally:
        daemon.signal(signal.SIGCONT)
    (job,) = client.list()
    record = finished(client, job["id"])
    assert record["writeback"]["status"] == "applied", record["writeback"]
    assert len(reaper.standin.items()[0]["takes"]) == 2


@pytest.mark.parametrize(("script", "answer"), [("reamend_clean_selected.py", "podcast-tight,edit"),
                                                 ("reamend_clean_project.py", "podcast-tight,")])
def test_clean_action_edits_the_project(reaper: ReaperEnv, daemon: DaemonProcess,  # noqa: F811
                                        script: str, answer: str) -> None:
    from daemon.reaper.timeline import ripple_time

    client = daemon.client
    assert client is not None

    host, guest = speechy_wav(reaper.tmp / "host.wav", seed=1), speechy_wav(reaper.tmp / "guest.wav", seed=2)
    reaper.standin.load({"markers": [{"pos_s": 1.0, "number": 1, "name": "intro"},
                                     {"pos_s": 5.0, "number": 2, "name": "chapter 2"},
                                     {"isrgn": True, "pos_s": 8.0, "end_s": 9.5, "number": 1, "name": "outro"}],
                         "tracks": [{"name": name, "items": [{"position_s": 0, "length_s": 10, "selected": True,
                                                               "takes": [{"source": str(path)}]}]}
                                    for name, path in (("Host", host), ("Guest", guest))]})
    reaper.standin.control("user-inputs", {"answers": [answer]})  # empty mode: the preset decides
    assert reaper.standin.run_script(script)["error"] is None
    (job,) = client.list()
    record = finished(client, job["id"])
    assert record["state"] == "done", record["error"]
    writeback = record["writeback"]
    assert writeback["status"] == "applied" and writeback["mode"] == "edit", writeback
    print(f"\nclean write-back: {writeback['detail']}")
    state = reaper.standin.state()
    # Every track lost exactly the time the write-back reports, and the markers moved with it.
    ends = {round(max(i["position_s"] + i["length_s"] for i in t["items"]), 4) for t in state["tracks"]}
    assert ends == {round(10.0 - writeback["removed_s"], 4)}
    assert writeback["removed_s"] > 1.0  # the shared long pause was shortened
    removals = writeback["removals"]
    moved = {m["name"]: (m["pos_s"], m["end_s"]) for m in state["markers"]}
    assert moved["chapter 2"] == pytest.approx((ripple_time(5.0, removals),) * 2)
    assert moved["outro"] == pytest.approx((ripple_time(8.0, removals), ripple_time(9.5, removals)))
    assert state["undo_history"] == [f"reamend: clean (job {record['id']})"]


def test_transcribe_action_adds_midi(reaper: ReaperEnv, daemon: DaemonProcess) -> None:  # noqa: F811
    client = daemon.client
    assert client is not None
    source = make_wav(reaper.tmp / "piano.wav", 3.0)
    reaper.standin.load(one_item_project(source, position_s=1.0, length_s=3.0))
    assert reaper.standin.run_script("reamend_transcribe.py")["error"] is None
    (job,) = client.list()
    record = finished(client, job["id"])
    assert record["state"] == "done", record["error"]
    assert record["writeback"]["status"] == "applied", record["writeback"]
    tracks = reaper.standin.state()["tracks"]
    assert [t["name"] for t in tracks] == ["Voice", "Voice MIDI (reamend)"]
    (midi_item,) = tracks[1]["items"]
    assert (midi_item["position_s"], midi_item["length_s"]) == (1.0, 3.0)
    assert all(0 <= n["start_ppq"] < n["end_ppq"] <= 3.0 * 1920 for n in midi_item["takes"][0]["notes"])
