"""The local API against a real daemon process: token, allowed roots, submits, cancel, events, CLI."""

from __future__ import annotations

import http.client
import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.client import DaemonClient, DaemonRequestError
from daemon.jobs.base import JobSpec
from tests.daemon_support.harness import DaemonProcess, runner_log, wait_for


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path_factory.mktemp("home"))
    process.start()
    yield process
    process.close()


@pytest.fixture
def client(daemon: DaemonProcess) -> DaemonClient:
    assert daemon.client is not None
    return daemon.client


def _input(folder: Path, name: str, size: int = 4000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    return path


def _raw(port: int, method: str, path: str, *, token: str | None, body: Any = None) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    connection.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    response = connection.getresponse()
    data = json.loads(response.read())
    connection.close()
    return response.status, data


def test_api_file_is_private_and_names_a_live_daemon(daemon: DaemonProcess, client: DaemonClient) -> None:
    info = json.loads(daemon.api_file.read_text())
    assert set(info) == {"port", "token", "pid", "version"}
    assert stat.S_IMODE(daemon.api_file.stat().st_mode) == 0o600
    assert len(info["token"]) >= 32 and info["port"] == client.port
    health = client.health()
    assert health["ok"] is True and health["pid"] == info["pid"] == daemon.process.pid  # type: ignore[union-attr]
    assert health["queue"] == {"queued": 0, "running": 0} or set(health["queue"]) == {"queued", "running"}
    assert health["device"] == "cpu" and isinstance(health["models_loaded"], list)
    assert health["hot_folders"] == {"copy": str(daemon.home / "hot" / "copy")}


@pytest.mark.parametrize("token", [None, "", "wrong-token", "Bearer"])
def test_requests_without_the_right_token_are_refused(daemon: DaemonProcess, client: DaemonClient,
                                                      token: str | None, tmp_path: Path) -> None:
    source = _input(tmp_path, "in.wav")
    for method, path, body in (("GET", "/v1/health", None), ("GET", "/v1/jobs", None),
                               ("POST", "/v1/jobs", {"kind": "clean", "inputs": [str(source)]}),
                               ("GET", "/v1/nowhere", None)):
        status, data = _raw(client.port, method, path, token=token, body=body)
        assert status == 401 and "token" in data["error"]
    assert not (tmp_path / "in.copy.wav").exists()


def test_paths_outside_the_allowed_roots_are_refused(client: DaemonClient, tmp_path: Path) -> None:
    outside = Path("/etc/hostname") if Path("/etc/hostname").exists() else Path("/etc/passwd")
    escape = tmp_path / "link.wav"
    escape.symlink_to(outside)  # inside an allowed root by name, outside once resolved
    inside = _input(tmp_path, "ok.wav")
    for spec in (JobSpec(kind="clean", inputs=(outside,), out_dir=tmp_path),
                 JobSpec(kind="clean", inputs=(escape,), out_dir=tmp_path),
                 JobSpec(kind="clean", inputs=(inside,), out_dir=Path("/etc/reamend-out"))):
        with pytest.raises(DaemonRequestError) as refused:
            client.submit(spec, origin="api")
        assert refused.value.status == 403 and "outside the allowed folders" in str(refused.value)
    assert not Path("/etc/reamend-out").exists()


@pytest.mark.parametrize(("body", "fragment"), [
    ({"kind": "bake", "inputs": ["/tmp/x.wav"]}, "kind must be one of"),
    ({"kind": "clean", "inputs": []}, "non-empty list"),
    ({"kind": "clean", "inputs": ["relative.wav"]}, "absolute"),
    ({"kind": "clean", "inputs": ["/tmp/reamend-surely-missing.wav"]}, "not found"),
    ({"kind": "clean", "inputs": ["__INPUT__"], "options": [1]}, "options must be"),
    ({"kind": "clean", "inputs": ["__INPUT__"], "origin": "mars"}, "origin must be"),
    ({"kind": "clean", "inputs": ["__INPUT__"], "preset": "no-such-preset"}, "no-such-preset"),
])
def test_invalid_submissions_get_a_clear_400(client: DaemonClient, tmp_path: Path, body: dict[str, Any],
                                             fragment: str) -> None:
    source = _input(tmp_path, "in.wav")
    body = {**body, "inputs": [str(source) if p == "__INPUT__" else p for p in body["inputs"]]}
    status, data = _raw(client.port, "POST", "/v1/jobs", token=client._token, body=body)
    assert status == 400 and fragment in data["error"]


def test_unknown_job_and_endpoint_are_404(client: DaemonClient) -> None:
    with pytest.raises(DaemonRequestError) as missing:
        client.get("no-such-job")
    assert missing.value.status == 404
    status, _ = _raw(client.port, "GET", "/v1/nowhere", token=client._token)
    assert status == 404


def test_concurrent_submits_each_run_once(daemon: DaemonProcess, client: DaemonClient, tmp_path: Path) -> None:
    sources = [_input(tmp_path / "in", f"take{i:02d}.wav", size=1000 + 37 * i) for i in range(24)]
    ids: list[str] = []
    lock = threading.Lock()

    def submit(source: Path) -> None:
        job_id = client.submit(JobSpec(kind="clean", inputs=(source,), out_dir=tmp_path / "out"), origin="api")
        with lock:
            ids.append(job_id)

    threads = [threading.Thread(target=submit, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == len(sources)
    records = [client.wait(job_id, timeout_s=30) for job_id in ids]
    assert {r["state"] for r in records} == {"done"}
    for source in sources:
        assert (tmp_path / "out" / f"{source.stem}.copy.wav").read_bytes() == source.read_bytes()
    ended = [path for event, path in runner_log(daemon.home) if event == "end" and "/in/take" in path]
    assert sorted(ended) == sorted(str(s) for s in sources)


def test_cancel_a_queued_and_a_running_job(client: DaemonClient, tmp_path: Path) -> None:
    slow = _input(tmp_path, "slow.wav")
    waiting = _input(tmp_path, "waiting.wav")
    running_id = client.submit(JobSpec(kind="clean", inputs=(slow,), out_dir=tmp_path / "out",
                                       options={"delay_s": 20}), origin="api")
    queued_id = client.submit(JobSpec(kind="clean", inputs=(waiting,), out_dir=tmp_path / "out"), origin="api")
    wait_for(lambda: client.get(running_id)["state"] == "running", what="the slow job to start")
    assert client.cancel(queued_id)["state"] == "cancelled"
    client.cancel(running_id)
    record = client.wait(running_id, timeout_s=5)
    assert record["state"] == "cancelled"
    assert list((tmp_path / "out").glob("*")) == []  # neither the output nor its partial file remains
    assert client.get(queued_id)["started_at"] is None
    assert client.cancel(running_id)["state"] == "cancelled"  # cancelling twice is harmless


def test_events_and_wait_report_progress(client: DaemonClient, tmp_path: Path) -> None:
    source = _input(tmp_path, "progress.wav")
    cursor = client.events(timeout_s=0)["last_seq"]
    seen: list[float] = []
    job_id = client.submit(JobSpec(kind="clean", inputs=(source,), out_dir=tmp_path,
                                   options={"delay_s": 0.6}), origin="api")
    record = client.wait(job_id, progress=lambda fraction, message: seen.append(fraction), timeout_s=20)
    assert record["state"] == "done" and record["progress"] == 1.0 and record["error"] is None
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(set(seen)) >= 3
    page = client.events(after=cursor, timeout_s=0, job_id=job_id)
    states = [event["state"] for event in page["events"]]
    assert states[0] == "queued" and states[-1] == "done" and "running" in states
    assert all(event["job_id"] == job_id for event in page["events"])
    assert record["outcome"]["outputs"][0]["path"] == str(tmp_path / "progress.copy.wav")
    listed = client.list(state="done", limit=5)
    assert job_id in [job["id"] for job in listed] and all(job["state"] == "done" for job in listed)


def test_the_long_poll_returns_as_soon_as_something_happens(client: DaemonClient, tmp_path: Path) -> None:
    source = _input(tmp_path, "poll.wav")
    cursor = client.events(timeout_s=0)["last_seq"]
    timer = threading.Timer(0.3, lambda: client.submit(JobSpec(kind="clean", inputs=(source,), out_dir=tmp_path),
                                                       origin="api"))
    timer.start()
    page = client.events(after=cursor, timeout_s=20)
    timer.join()
    assert page["events"] and page["last_seq"] > cursor


def test_cli_job_commands_use_the_daemon_with_the_same_output(daemon: DaemonProcess, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.commands import _jobcli
    from daemon.console import CliContext
    from daemon.settings import Settings
    from tests.daemon_support import fake_runner

    source = _input(tmp_path, "same.wav")
    monkeypatch.setattr(_jobcli, "run_job", fake_runner.run)  # in-process runs use the same test runner
    payloads = {}
    for label, home in (("daemon", daemon.home), ("process", tmp_path / "no-daemon-home")):
        out_dir = tmp_path / label
        ctx = CliContext(settings=Settings(home=home), json_mode=True)
        _jobcli.execute(JobSpec(kind="clean", inputs=(source,), out_dir=out_dir), ctx, title="clean")
        payloads[label] = json.loads(capsys.readouterr().out)
        assert payloads[label]["ran_in"] == label
    for label in payloads:
        names = [Path(o["path"]).relative_to(tmp_path / label) for o in payloads[label]["outputs"]]
        assert [str(n) for n in names] == ["same.copy.wav", "same.edits.json"]
        assert (tmp_path / label / "same.copy.wav").read_bytes() == source.read_bytes()
    assert payloads["daemon"]["summary"] == payloads["process"]["summary"]


def test_cli_reports_a_daemon_failure_with_the_library_exit_code(daemon: DaemonProcess, tmp_path: Path) -> None:
    from daemon.commands import _jobcli
    from daemon.console import CliContext
    from daemon.settings import Settings
    from models.errors import AudioFileError

    corrupt = tmp_path / "bad.wav"
    corrupt.write_bytes(b"CORRUPT header")
    ctx = CliContext(settings=Settings(home=daemon.home), json_mode=True)
    with pytest.raises(AudioFileError, match="corrupt") as failure:
        _jobcli.execute(JobSpec(kind="clean", inputs=(corrupt,), out_dir=tmp_path), ctx, title="clean")
    assert failure.value.exit_code == 3


def test_status_command_shows_the_running_daemon(daemon: DaemonProcess, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    monkeypatch.setenv("REAMEND_CONFIG", str(daemon.home / "no-config.toml"))
    assert main(["--home", str(daemon.home), "--json", "status"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["running"] is True and data["daemon"]["pid"] == daemon.process.pid  # type: ignore[union-attr]
    assert data["recent_jobs"] and {"id", "state", "progress"} <= set(data["recent_jobs"][0])
    assert main(["--home", str(daemon.home), "status"]) == 0
    table = capsys.readouterr().out
    assert "reamend daemon" in table and "recent jobs" in table and "device" in table


def test_a_reaper_job_is_written_back_and_a_write_back_failure_keeps_the_job(client: DaemonClient,
                                                                            tmp_path: Path) -> None:
    source = _input(tmp_path, "item.wav")
    job_id = client.submit(JobSpec(kind="clean", inputs=(source,), out_dir=tmp_path / "out"), origin="reaper",
                           reaper={"items": []})  # nothing to re-identify: the bridge reports an error
    record = client.wait(job_id, timeout_s=30)
    assert record["state"] == "done" and record["origin"] == "reaper" and record["reaper"] == {"items": []}
    assert record["writeback"]["status"] == "error" and record["writeback"]["detail"]
    assert (tmp_path / "out" / "item.copy.wav").exists()


@pytest.mark.parametrize("query", ["after=abc", "timeout_s=nan", "timeout_s=inf", "limit=x"])
def test_malformed_numbers_are_400_not_500(client: DaemonClient, query: str) -> None:
    endpoint = "/v1/jobs" if query.startswith("limit") else "/v1/events"
    status, data = _raw(client.port, "GET", f"{endpoint}?{query}", token=client._token)
    assert status == 400 and "number" in data["error"]
