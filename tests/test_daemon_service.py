"""The service in-process: start-up, API file, worker, clean shutdown without leaked threads."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from daemon.client import DaemonClient
from daemon.hotfolder import HotPreset
from daemon.jobs.base import JobSpec
from daemon.service import Service, ServiceOptions
from daemon.settings import Settings
from models.registry import read_manifest
from tests.daemon_support import fake_runner
from tests.daemon_support.harness import wait_for


def test_service_starts_serves_and_stops_without_leaking_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    settings = Settings(home=tmp_path / "home", api_port=0, device="cpu", user_presets_dir=tmp_path / "presets")
    service = Service(settings, ServiceOptions(lookup=fake_runner.lookup, preload=True,
                                               presets=lambda: [HotPreset("copy", "clean")]))
    service.start()
    try:
        assert stat.S_IMODE(settings.api_file.stat().st_mode) == 0o600
        client = DaemonClient.from_settings(settings)
        assert client is not None
        source = tmp_path / "in.wav"
        source.write_bytes(b"data")
        job = client.submit(JobSpec(kind="transcribe", inputs=(source,), out_dir=tmp_path / "out"), origin="api")
        assert client.wait(job, timeout_s=10)["state"] == "done"
        assert (settings.hot_dir / "copy").is_dir()
        shipped = sorted(read_manifest())
        # --preload loads every shipped model once, on the configured device, and keeps it
        health = wait_for(lambda: (h := client.health())["models_loaded"] == shipped and h, timeout_s=60,
                          what="the preload")
        assert all(model["device"] == "cpu" for model in health["models"])
    finally:
        service.shutdown()
    assert not settings.api_file.exists()
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:
        thread.join(timeout=2)
    assert [t.name for t in leaked if t.is_alive()] == []


def test_a_crash_between_job_end_and_filing_is_repaired_at_start(tmp_path: Path) -> None:
    """The job finished but the daemon died before (or while) moving files: the next start files it once."""
    from daemon.hotfolder import HotFolder, HotTiming
    from daemon.store import JobStore

    hot_dir = tmp_path / "hot"
    folder = hot_dir / "copy"
    staging = folder / ".work" / "job-1"
    staging.mkdir(parents=True)
    source = folder / "take.wav"
    source.write_bytes(b"input bytes")
    (staging / "take.copy.wav").write_bytes(b"output")
    (staging / "take.edits.json").write_bytes(b"{}")
    store = JobStore(tmp_path / "jobs.sqlite3")
    spec = JobSpec(kind="clean", inputs=(source,), out_dir=staging, preset="copy")
    store.create_hot(spec.to_json(), job_id="job-1", source=source, preset="copy")
    store.claim_next()
    outputs = [{"role": "audio", "path": str(staging / "take.copy.wav"), "source": str(source)},
               {"role": "edits", "path": str(staging / "take.edits.json"), "source": str(source)}]
    store.finish("job-1", "done", message="done", outcome={"outputs": outputs, "summary": {}, "messages": []})
    # the crash happened half-way through filing: destination chosen, one output already moved
    store.set_hot_destination("job-1", folder / "done")
    (folder / "done").mkdir()
    (staging / "take.copy.wav").rename(folder / "done" / "take.copy.wav")

    submitted: list[None] = []
    hot = HotFolder(hot_dir, store, lambda: [HotPreset("copy", "clean")], on_submit=lambda: submitted.append(None),
                    timing=HotTiming(stable_s=0.1, settle_s=0.05, poll_s=0.02, rescan_s=60))
    hot.start()
    try:
        done = folder / "done"
        deadline = threading.Event()
        for _ in range(100):
            if (done / "take.wav.job.json").exists():
                break
            deadline.wait(0.05)
        assert sorted(p.name for p in done.iterdir()) == ["take.copy.wav", "take.edits.json", "take.wav",
                                                          "take.wav.job.json"]
        assert (done / "take.wav").read_bytes() == b"input bytes"
        deadline.wait(0.3)
        assert submitted == [] and store.counts()["queued"] == 0  # filed, never queued again
        assert store.unfiled_hot_entries() == [] and not staging.exists()
    finally:
        hot.stop()
        store.close()
