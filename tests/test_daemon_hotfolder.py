"""The hot folder with a real daemon process, real watchdog and real files."""

from __future__ import annotations

import collections
import hashlib
import os
import random
import threading
import time
from pathlib import Path

from tests.daemon_support.harness import StartDaemon, runner_log, wait_for


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _done_inputs(folder: Path) -> list[Path]:
    """Inputs filed into done/, counted by their reports (written last)."""
    done = folder / "done"
    if not done.is_dir():
        return []
    return sorted(p.with_name(p.name.removesuffix(".job.json")) for p in done.rglob("*.job.json"))


def _write_slowly(path: Path, data: bytes, *, chunks: int, pause_s: float) -> None:
    step = max(len(data) // chunks, 1)
    with open(path, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start:start + step])
            handle.flush()
            time.sleep(pause_s)


def _check_done(folder: Path, name: str, data: bytes) -> None:
    done = folder / "done"
    assert (done / name).read_bytes() == data, f"{name}: the input's bytes changed"
    stem = name.removesuffix(".wav")
    assert _digest((done / f"{stem}.copy.wav").read_bytes()) == _digest(data), f"{name}: incomplete when processed"
    assert (done / f"{stem}.edits.json").exists() and (done / f"{name}.job.json").exists()


def test_a_burst_of_200_files_is_processed_exactly_once(tmp_path: Path,
                                                        start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    folder = home / "hot" / "copy"
    folder.mkdir(parents=True)
    rng = random.Random(6)
    originals: dict[str, bytes] = {}

    def content(name: str) -> bytes:
        size = rng.choice([1, 300, 4_000, 60_000, 250_000, rng.randrange(1, 400_000)])
        originals[name] = os.urandom(size)
        return originals[name]

    for index in range(25):  # already there when the daemon starts
        (folder / f"pre{index:03d}.wav").write_bytes(content(f"pre{index:03d}.wav"))
    ignored = {".hidden.wav": b"h", "take.wav.part": b"p", "~$lock.wav": b"l", ".reamend-x.wav.partial": b"t"}
    for name, data in ignored.items():
        (folder / name).write_bytes(data)
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.wav").write_bytes(b"nested")
    staging = tmp_path / "staging"
    staging.mkdir()
    quick = [f"quick{i:03d}.wav" for i in range(100)]
    slow = [f"slow{i:03d}.wav" for i in range(50)]
    moved = [f"moved{i:03d}.wav" for i in range(25)]
    payloads = {name: content(name) for name in quick + slow + moved}

    daemon = start_daemon(home)
    pauses_s = [rng.choice([0.02, 0.15]) for _ in range(10)]

    def write_share(index: int) -> None:
        for name in slow[index::10]:
            _write_slowly(folder / name, payloads[name], chunks=4, pause_s=pauses_s[index])

    writers = [threading.Thread(target=write_share, args=(i,)) for i in range(10)]
    for writer in writers:
        writer.start()
    for name in quick:
        (folder / name).write_bytes(payloads[name])
    for name in moved:
        (staging / name).write_bytes(payloads[name])
        os.rename(staging / name, folder / name)
    for writer in writers:
        writer.join()

    wait_for(lambda: len(_done_inputs(folder)) >= 200, timeout_s=90, what="200 files in done/")
    time.sleep(0.5)  # anything processed twice would show up now
    assert [p.name for p in _done_inputs(folder)] == sorted(originals)
    for name, data in originals.items():
        _check_done(folder, name, data)
    starts = collections.Counter(path for event, path in runner_log(home) if event == "start")
    assert set(starts.values()) == {1} and len(starts) == 200
    for name, data in ignored.items():
        assert (folder / name).read_bytes() == data  # hidden and temporary files were left alone
    assert (folder / "sub" / "inner.wav").read_bytes() == b"nested"
    assert not list((folder / ".work").glob("*"))
    assert daemon.client is not None
    jobs = daemon.client.list(limit=1000)
    assert len(jobs) == 200 and {job["state"] for job in jobs} == {"done"}
    assert {job["origin"] for job in jobs} == {"hot"}

    # A restart finds nothing new to do; a new drop of a known name is a new job filed apart.
    daemon.signal()
    assert daemon.wait() == 0
    client = start_daemon(home).client
    assert client is not None
    again = os.urandom(1000)
    (folder / "quick000.wav").write_bytes(again)
    wait_for(lambda: len(client.list(limit=1000)) == 201 and client.list(limit=1)[0]["state"] == "done",
             what="the re-dropped file")
    newest = client.list(limit=1)[0]
    subfolder = folder / "done" / f"quick000-{newest['id'][:8]}"
    wait_for(lambda: (subfolder / "quick000.wav.job.json").exists(), what="the second drop to be filed")
    assert (subfolder / "quick000.wav").read_bytes() == again
    assert (folder / "done" / "quick000.wav").read_bytes() == originals["quick000.wav"]


def test_stable_size_readiness_without_closed_file_events(tmp_path: Path,
                                                          start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    folder = home / "hot" / "copy"
    daemon = start_daemon(home, REAMEND_TEST_READINESS="stable", REAMEND_TEST_STABLE_S="0.6")
    assert "readiness: stable size" in daemon.log_text
    payloads = {f"s{i:02d}.wav": os.urandom(50_000 + i) for i in range(12)}
    writers = [threading.Thread(target=_write_slowly, args=(folder / name, data),
                                kwargs={"chunks": 5, "pause_s": 0.2}) for name, data in payloads.items()]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    wait_for(lambda: len(_done_inputs(folder)) >= len(payloads), timeout_s=30, what="all files done")
    for name, data in payloads.items():
        _check_done(folder, name, data)
    starts = collections.Counter(path for event, path in runner_log(home) if event == "start")
    assert len(starts) == len(payloads) and set(starts.values()) == {1}


def test_bad_files_fail_clearly_and_the_daemon_keeps_going(tmp_path: Path,
                                                           start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    folder = home / "hot" / "copy"
    daemon = start_daemon(home, REAMEND_TEST_DELAY_S="1.5")
    client = daemon.client
    assert client is not None
    bad = {"corrupt.wav": b"CORRUPT data", "unreadable.wav": b"secret", "enospc-take.wav": b"fine audio"}
    (folder / "unreadable.wav").write_bytes(bad["unreadable.wav"])
    os.chmod(folder / "unreadable.wav", 0)
    (folder / "corrupt.wav").write_bytes(bad["corrupt.wav"])
    (folder / "enospc-take.wav").write_bytes(bad["enospc-take.wav"])
    (folder / "blocker.wav").write_bytes(b"keeps the worker busy")
    wait_for(lambda: any(j["state"] == "running" for j in client.list()), what="a running job")
    (folder / "victim.wav").write_bytes(b"deleted while queued")
    victim = wait_for(lambda: next((j for j in client.list(state="queued")
                                    if j["spec"]["inputs"][0].endswith("victim.wav")), None),
                      what="victim.wav to be queued")
    (folder / "victim.wav").unlink()
    wait_for(lambda: client.get(victim["id"])["state"] == "failed", what="the deleted file's job to fail")

    failed = folder / "failed"
    wait_for(lambda: len(list(failed.glob("*.error.txt"))) == 4, what="four error reports")
    reasons = {path.name.removesuffix(".error.txt"): path.read_text() for path in failed.glob("*.error.txt")}
    assert "corrupt header" in reasons["corrupt.wav"]
    assert "permission denied" in reasons["unreadable.wav"]
    assert "disk full" in reasons["enospc-take.wav"]
    assert "input file not found" in reasons["victim.wav"]
    assert all("not modified" in text for text in reasons.values())
    os.chmod(failed / "unreadable.wav", 0o600)
    for name, data in bad.items():
        assert (failed / name).read_bytes() == data  # inputs are kept, byte for byte
    assert not (failed / "victim.wav").exists()
    assert client.health()["ok"]
    (folder / "after.wav").write_bytes(b"still working")
    wait_for(lambda: (folder / "done" / "after.wav.job.json").exists(), what="a good file after the failures")
    assert (folder / "done" / "blocker.wav").exists()
    states = collections.Counter(job["state"] for job in client.list(limit=100))
    assert states == {"failed": 4, "done": 2}
