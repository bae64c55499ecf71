"""Crash safety and shutdown of a real daemon process: kill -9, SIGTERM drain, second signal, lock."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from daemon.client import DaemonClient
from daemon.jobs.base import JobSpec
from daemon.settings import Settings
from daemon.store import JobStore
from tests.daemon_support.harness import REPO, StartDaemon, daemon_env, runner_log, wait_for


def _partials(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".partial")]


def _offline_jobs(home: Path) -> dict[str, str]:
    store = JobStore(home / "jobs.sqlite3")
    try:
        return {job.id: job.state for job in store.list_jobs(limit=100)}
    finally:
        store.close()


def test_kill_9_during_a_job_then_restart(tmp_path: Path, start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    folder = home / "hot" / "copy"
    daemon = start_daemon(home, REAMEND_TEST_DELAY_S="1.5")
    client = daemon.client
    assert client is not None
    take = os.urandom(300_000)
    (folder / "take.wav").write_bytes(take)
    wait_for(lambda: _partials(folder / ".work"), what="the hot job to be half-way through its output")
    api_input = tmp_path / "api.wav"
    api_input.write_bytes(os.urandom(5000))
    api_id = client.submit(JobSpec(kind="clean", inputs=(api_input,), out_dir=tmp_path / "out"), origin="api")
    daemon.kill()

    assert not list(folder.rglob("take.copy.wav"))  # only a hidden partial file, never a half output
    assert DaemonClient.from_settings(Settings(home=home)) is None  # stale api.json: pid is dead
    assert set(_offline_jobs(home).values()) == {"running", "queued"}

    client = start_daemon(home, REAMEND_TEST_DELAY_S="0.2").client
    assert client is not None
    wait_for(lambda: (folder / "done" / "take.wav.job.json").exists(), what="the interrupted hot job")
    assert client.wait(api_id, timeout_s=20)["state"] == "done"
    assert (folder / "done" / "take.copy.wav").read_bytes() == take
    assert (folder / "done" / "take.wav").read_bytes() == take
    assert _partials(home) == [] and not list((folder / ".work").glob("*"))
    jobs = client.list(limit=10)
    assert len(jobs) == 2 and {j["state"] for j in jobs} == {"done"}
    hot_job = next(j for j in jobs if j["origin"] == "hot")
    assert hot_job["attempts"] == 2
    ends = collections.Counter(path for event, path in runner_log(home) if event == "end")
    assert ends == {str(folder / "take.wav"): 1, str(api_input): 1}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["api.copy.wav", "api.edits.json"]


def test_sigterm_drains_running_jobs_and_keeps_the_queue(tmp_path: Path, start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    daemon = start_daemon(home)
    client = daemon.client
    assert client is not None
    sources = []
    for name in ("first.wav", "second.wav"):
        sources.append(tmp_path / name)
        sources[-1].write_bytes(os.urandom(2000))
    first = client.submit(JobSpec(kind="clean", inputs=(sources[0],), out_dir=tmp_path, options={"delay_s": 1.0}),
                          origin="api")
    second = client.submit(JobSpec(kind="clean", inputs=(sources[1],), out_dir=tmp_path), origin="api")
    wait_for(lambda: client.get(first)["state"] == "running", what="the first job to start")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout_s=20) == 0
    assert _offline_jobs(home) == {first: "done", second: "queued"}
    assert (tmp_path / "first.copy.wav").exists() and not daemon.api_file.exists()

    restarted = start_daemon(home).client
    assert restarted is not None
    assert restarted.wait(second, timeout_s=20)["state"] == "done"


def test_a_second_signal_stops_at_once_and_the_job_reruns(tmp_path: Path, start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    daemon = start_daemon(home)
    client = daemon.client
    assert client is not None
    source = tmp_path / "long.wav"
    source.write_bytes(os.urandom(2000))
    job = client.submit(JobSpec(kind="clean", inputs=(source,), out_dir=tmp_path / "out",
                                options={"delay_s": 30}), origin="api")
    wait_for(lambda: client.get(job)["state"] == "running", what="the long job to start")
    daemon.signal(signal.SIGTERM)
    wait_for(lambda: "finishing 1 running job" in daemon.log_text, what="the drain to begin")
    started = time.monotonic()
    daemon.signal(signal.SIGINT)
    assert daemon.wait(timeout_s=10) == 128 + signal.SIGINT
    assert time.monotonic() - started < 5
    assert not daemon.api_file.exists()
    assert _offline_jobs(home) == {job: "running"}  # exactly what a crash leaves: it will run again
    assert not (tmp_path / "out" / "long.copy.wav").exists()


def test_one_daemon_per_home(tmp_path: Path, start_daemon: StartDaemon) -> None:
    home = tmp_path / "home"
    first = start_daemon(home)
    second = subprocess.run([sys.executable, "-m", "tests.daemon_support.fake_daemon"], cwd=REPO,
                            env=daemon_env(home), capture_output=True, text=True, timeout=30)
    assert second.returncode == 1 and "already running" in second.stderr
    assert first.client is not None and first.client.health()["pid"] == first.process.pid  # type: ignore[union-attr]
    assert first.api_file.exists()


def test_cli_detach_status_and_stop(tmp_path: Path) -> None:
    """The real ``reamend daemon --detach`` / ``status`` / ``daemon stop`` (production runners and presets)."""
    home = tmp_path / "home"
    env = daemon_env(home)
    cli = [sys.executable, "-m", "daemon.cli", "--json"]
    started = subprocess.run([*cli, "daemon", "--detach"], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=90)
    assert started.returncode == 0, started.stderr
    pid = int(__import__("json").loads(started.stdout)["pid"])
    try:
        status = subprocess.run([*cli, "status"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
        assert status.returncode == 0 and '"running": true' in status.stdout
        stopped = subprocess.run([*cli, "daemon", "stop"], cwd=REPO, env=env, capture_output=True, text=True,
                                 timeout=60)
        assert stopped.returncode == 0 and '"stopped": true' in stopped.stdout
        assert not (home / "api.json").exists()
        import psutil

        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        if (home / "api.json").exists():
            os.kill(pid, signal.SIGKILL)
    again = subprocess.run([*cli, "status"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert '"running": false' in again.stdout
