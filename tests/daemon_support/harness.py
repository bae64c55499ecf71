"""A real daemon process for tests: started with a temporary home and a free port, always reaped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.client import DaemonClient, read_api_file

REPO = Path(__file__).resolve().parents[2]


def daemon_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment that isolates a daemon (or a CLI run) inside ``home``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("REAMEND_")}
    env.update({"REAMEND_HOME": str(home), "REAMEND_API_PORT": "0", "REAMEND_DEVICE": "cpu",
                "REAMEND_CONFIG": str(home / "no-config.toml"),
                "REAMEND_USER_PRESETS_DIR": str(home / "presets"), "PYTHONPATH": str(REPO)})
    env.update(extra)
    return env


class DaemonProcess:
    def __init__(self, home: Path, *, module: str = "tests.daemon_support.fake_daemon", **env: str) -> None:
        self.home = home
        self.module = module
        self.env = daemon_env(home, **env)
        self.process: subprocess.Popen[bytes] | None = None
        self.client: DaemonClient | None = None

    @property
    def api_file(self) -> Path:
        return self.home / "api.json"

    @property
    def log_text(self) -> str:
        path = self.home / "logs" / "daemon.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, *, timeout_s: float = 30.0) -> DaemonClient:
        self.home.mkdir(parents=True, exist_ok=True)
        output = open(self.home / "stdout.log", "ab")  # noqa: SIM115 - closed when the process is reaped
        self.process = subprocess.Popen([sys.executable, "-m", self.module], cwd=REPO, env=self.env,
                                        stdout=output, stderr=subprocess.STDOUT)
        output.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode}:\n"
                                   f"{(self.home / 'stdout.log').read_text(errors='replace')[-3000:]}")
            info = read_api_file(self.api_file)
            if info is not None and info.pid == self.process.pid:
                self.client = DaemonClient(port=info.port, token=info.token, pid=info.pid)
                self.client.health()
                return self.client
            time.sleep(0.05)
        self.kill()
        raise TimeoutError("daemon did not start")

    def kill(self) -> None:
        """kill -9, the way a crash or an OOM killer ends it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout_s: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.kill()


def wait_for(condition: Callable[[], Any], *, timeout_s: float = 30.0, interval_s: float = 0.05,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def runner_log(home: Path) -> list[tuple[str, str]]:
    path = home / "runner.log"
    if not path.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()]  # type: ignore[misc]


StartDaemon = Callable[..., DaemonProcess]


@pytest.fixture
def start_daemon() -> Iterator[StartDaemon]:
    """Start test daemons (``start_daemon(home, **env)``); every one is closed at teardown."""
    started: list[DaemonProcess] = []

    def start(home: Path, **env: str) -> DaemonProcess:
        daemon = DaemonProcess(home, **env)
        started.append(daemon)
        daemon.start()
        return daemon

    yield start
    for daemon in started:
        daemon.close()
