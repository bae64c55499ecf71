"""The bridge against the stand-in through real reapy: reads, writes, restarts, timeouts, security."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from daemon.reaper import bridge as rb
from daemon.reaper.bridge import ReaperUnavailableError, get_bridge, probe_reaper
from tests.reaper_standin.fixtures import ReaperEnv, make_wav, one_item_project, reaper  # noqa: F401
from tests.reaper_standin.model import load_rpp


def test_reads_selection_sources_time_selection_and_markers(reaper: ReaperEnv) -> None:  # noqa: F811
    source = make_wav(reaper.tmp / "voice.wav", 4.0)
    reaper.standin.load(one_item_project(source, start_offset_s=0.5, playrate=1.5, time_selection=(3.0, 3.5),
                                         markers=[{"pos_s": 1.0, "number": 1, "name": "intro"},
                                                  {"isrgn": True, "pos_s": 2.0, "end_s": 4.0, "number": 1}]))

    def batch(rpr: rb.Rpr) -> dict:
        item = rpr.GetSelectedMediaItem(0, 0)
        take = rpr.GetActiveTake(item)
        return {"count": rpr.CountSelectedMediaItems(0), "item": item, "source": rb.source_path(rpr, take),
                "offs": rpr.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS"),
                "rate": rpr.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE"),
                "sel": rpr.GetSet_LoopTimeRange2(0, False, False, 0, 0, False)[3:5],
                "markers": [rpr.EnumProjectMarkers3(0, i, 0, 0, 0, "", 0, 0) for i in range(2)],
                "length": rpr.GetMediaSourceLength(rpr.GetMediaItemTake_Source(take), False)[0]}

    got = reaper.run(batch)
    assert got["count"] == 1 and got["item"].startswith("(MediaItem*)0x")
    assert got["source"] == str(source) and got["offs"] == 0.5 and got["rate"] == 1.5
    assert got["sel"] == [3.0, 3.5] and got["length"] == pytest.approx(4.0)
    # Markers before regions: index numbers come straight from EnumProjectMarkers3; names do not.
    assert [(m[3], m[4], m[7], m[6]) for m in got["markers"]] == [(False, 1.0, 1, ""), (True, 2.0, 1, "")]


def test_writes_takes_splits_midi_and_regions_then_saves_rpp(reaper: ReaperEnv) -> None:  # noqa: F811
    source = make_wav(reaper.tmp / "voice.wav", 8.0)
    other = make_wav(reaper.tmp / "other.wav", 8.0, seed=1)
    reaper.standin.load(one_item_project(source))

    def batch(rpr: rb.Rpr) -> None:
        item = rpr.GetMediaItem(0, 0)
        rpr.InsertMedia(str(other), 3)
        right = rpr.SplitMediaItem(item, 5.0)
        rpr.SetMediaItemInfo_Value(right, "D_FADEINLEN", 0.01)
        track = rpr.GetTrack(0, 0)
        midi = rpr.CreateNewMIDIItemInProj(track, 2.0, 4.0, False)[0]
        take = rpr.GetActiveTake(midi)
        ppq = rpr.MIDI_GetPPQPosFromProjTime(take, 3.0)
        rpr.MIDI_InsertNote(take, False, False, ppq, ppq + 480, 0, 60, 100, False)
        rpr.AddProjectMarker2(0, True, 1.0, 2.0, "review", -1, 0)

    reaper.run(batch)
    reaper.standin.control("save", {"path": str(reaper.tmp / "out.RPP")})
    project = load_rpp(reaper.tmp / "out.RPP")
    items = sorted(project.tracks[0].items, key=lambda i: (i.position_s, len(i.takes)))
    audio = [i for i in items if i.takes[0].source and i.takes[0].source.kind == "WAVE"]
    assert [(i.position_s, i.length_s) for i in audio] == [(2.0, 3.0), (5.0, 3.0)]
    assert audio[1].takes[0].start_offset_s == pytest.approx(3.0) and audio[1].fadein_s == 0.01
    assert audio[0].takes[audio[0].active].source.path == str(other)  # type: ignore[union-attr]
    midi = next(i for i in items if i.takes[0].source and i.takes[0].source.kind == "MIDI")
    note = midi.takes[0].source.notes[0]  # type: ignore[union-attr]
    assert (note.start_ppq, note.end_ppq, note.pitch, note.vel) == (1920.0, 2400.0, 60, 100)  # 1 s at 120 bpm
    assert project.markers[0].isrgn and project.markers[0].name == "review"


def test_stale_handles_are_silently_invalid_after_a_restart(reaper: ReaperEnv) -> None:  # noqa: F811
    source = make_wav(reaper.tmp / "voice.wav", 4.0)
    reaper.standin.load(one_item_project(source, position_s=1.25))
    handle, guid = reaper.run(lambda rpr: (h := rpr.GetMediaItem(0, 0), rb.item_guid(rpr, h)))
    reaper.standin.control("save", {"path": str(reaper.tmp / "p.RPP")})
    reaper.standin.kill()
    reaper.standin.start(project=reaper.tmp / "p.RPP")
    bridge = get_bridge(reaper.settings)
    stale = bridge.run(lambda rpr: rpr.GetMediaItemInfo_Value(handle, "D_POSITION"), connect_deadline_s=5)
    assert stale == 0.0  # REAPER's convention: no error, just zero
    found = bridge.run(lambda rpr: rpr.GetMediaItemInfo_Value(rb.find_item_by_guid(rpr, guid), "D_POSITION"))
    assert found == 1.25


def test_no_reaper_is_a_normal_state(reaper: ReaperEnv) -> None:  # noqa: F811
    reaper.standin.stop()
    started = time.monotonic()
    ok, detail = probe_reaper(reaper.settings)
    assert not ok and "not reachable" in detail
    with pytest.raises(ReaperUnavailableError):
        get_bridge(reaper.settings).run(lambda rpr: rpr.CountTracks(0), connect_deadline_s=0.6)
    assert time.monotonic() - started < 5


def test_a_hung_reaper_times_out_instead_of_hanging(reaper: ReaperEnv) -> None:  # noqa: F811
    assert probe_reaper(reaper.settings)[0]
    pid = reaper.standin.proc.pid  # type: ignore[union-attr]
    import os
    import signal

    os.kill(pid, signal.SIGSTOP)  # REAPER frozen: the socket stays open, nothing answers
    try:
        started = time.monotonic()
        with pytest.raises(ReaperUnavailableError, match="did not answer"):
            get_bridge(reaper.settings).run(lambda rpr: rpr.CountTracks(0), timeout_s=0.5)
        assert time.monotonic() - started < 2
    finally:
        os.kill(pid, signal.SIGCONT)
    assert get_bridge(reaper.settings).run(lambda rpr: rpr.CountTracks(0), connect_deadline_s=5) == 0


def test_our_server_listens_on_loopback_only_and_refuses_foreign_callables(reaper: ReaperEnv) -> None:  # noqa: F811
    assert probe_reaper(reaper.settings)[0]
    port = reaper.settings.reaper_server_port
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for address in addresses:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            assert sock.connect_ex((address, port)) != 0
    reapy = rb._import_reapy()
    from reapy.errors import DistError

    def attack() -> str:
        import os as os_module

        from reapy.tools.network import machines

        try:
            client = machines.get_selected_client()
            assert client is not None
            client.request(os_module.getcwd, {"args": [], "kwargs": {}})
        except DistError as exc:
            return str(exc)
        return "executed"

    result = get_bridge(reaper.settings).run(lambda rpr: attack())
    assert "refused" in result and "posix" in result
    assert reapy.dist_api_is_enabled()


def test_all_calls_run_on_one_thread_even_from_many_callers(reaper: ReaperEnv) -> None:  # noqa: F811
    reaper.standin.load(one_item_project(make_wav(reaper.tmp / "v.wav", 1.0)))
    threads_seen: set[str] = set()
    results: list[int] = []

    def caller() -> None:
        def batch(rpr: rb.Rpr) -> int:
            threads_seen.add(threading.current_thread().name)
            return int(rpr.CountMediaItems(0))

        results.append(get_bridge(reaper.settings).run(batch))

    workers = [threading.Thread(target=caller) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [1] * 8 and threads_seen == {"reamend-reaper-bridge"}


def test_stand_in_uses_no_default_ports(reaper: ReaperEnv) -> None:  # noqa: F811
    assert {reaper.settings.reaper_web_port, reaper.settings.reaper_server_port}.isdisjoint({2306, 2307})
    assert Path(reaper.resource / "Scripts" / "reamend" / "reamend_reaper.json").exists()


def _raw_send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(8, "little") + payload)


def test_server_survives_garbage_and_a_client_that_holds_reaper_and_goes_silent(reaper: ReaperEnv) -> None:  # noqa: F811
    import json

    config_path = reaper.resource / "Scripts" / "reamend" / "reamend_reaper.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "hold_idle_limit_s": 0.5}))
    assert probe_reaper(reaper.settings)[0]
    with socket.create_connection(("127.0.0.1", reaper.settings.reaper_server_port), timeout=5) as sock:
        sock.recv(4096)  # the server's greeting: our address
        _raw_send(sock, b"{not json")
        time.sleep(0.1)
        _raw_send(sock, json.dumps({"function": "HOLD", "input": None}).encode())
        time.sleep(0.1)
        started = time.monotonic()
        state = reaper.standin.state()  # served by REAPER's main thread, frozen while held
        assert time.monotonic() - started < 3 and state["tracks"] == []
    assert get_bridge(reaper.settings).run(lambda rpr: rpr.GetAppVersion()) == "7.0/standin"


def test_reaper_without_our_server_set_up_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.reaper.bridge import close_bridges
    from daemon.settings import load_settings
    from tests.reaper_standin.harness import Standin, free_port

    web = free_port()
    monkeypatch.setenv("REAMEND_REAPER_WEB_PORT", str(web))
    standin = Standin(tmp_path, web_port=web).start()  # a bare REAPER: nothing installed
    try:
        ok, detail = probe_reaper(load_settings())
        assert not ok and "python install.py --reaper" in detail
    finally:
        close_bridges()
        standin.stop()
