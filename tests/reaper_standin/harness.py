"""Start, drive and stop the stand-in from tests.

A test gets a REAPER resource folder set up by our real installer, free ports
(never reapy's 2306/2307), and a running stand-in process it can restart with
the saved project, as a user restarting REAPER would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
RESERVED_PORTS = {2306, 2307}


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


class Standin:
    """One stand-in process on ``resource_path``; ``restart()`` keeps the resource folder."""

    def __init__(self, resource_path: Path, *, web_port: int, env: dict[str, str] | None = None) -> None:
        self.resource_path = resource_path
        self.web_port = web_port
        self.env = {**os.environ, **(env or {})}
        self.env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + self.env.get("PYTHONPATH", "")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = resource_path / "standin.log"

    def start(self, *, project: Path | None = None, extra: list[str] | None = None) -> Standin:
        ready = self.resource_path / "standin.ready"
        ready.unlink(missing_ok=True)
        args = [sys.executable, "-m", "tests.reaper_standin", "--resource-path", str(self.resource_path),
                "--web-port", str(self.web_port), "--ready-file", str(ready), *(extra or [])]
        if project is not None:
            args += ["--project", str(project)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stand-in did not start: {self.log_path.read_text()}")
            time.sleep(0.02)
        return self

    def kill(self) -> None:
        """A crash: no at-exit handlers, sockets left as they are."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.control("quit")
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def control(self, command: str, body: dict[str, Any] | None = None, *, timeout_s: float = 30) -> Any:
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.web_port}/standin/{command}", data=data,
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())

    def load(self, project: dict[str, Any]) -> None:
        self.control("load", {"project": project})

    def state(self) -> dict[str, Any]:
        return self.control("state")

    def run_script(self, name: str) -> dict[str, Any]:
        path = self.resource_path / "Scripts" / "reamend" / name
        return self.control("run-script", {"path": str(path)})

    def messages(self) -> dict[str, Any]:
        return self.control("messages")

    def items(self) -> list[dict[str, Any]]:
        return [item for track in self.state()["tracks"] for item in track["items"]]
