"""A small client for the daemon's local API (used by the CLI, ``reamend status``, doctor and tests).

Standard library only (``http.client``), so it is cheap to import from any command.
"""

from __future__ import annotations

import builtins
import http.client
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from daemon.jobs.base import JobSpec
from daemon.settings import Settings
from models.errors import ReamendError, ServiceUnavailableError
from models.progress import ProgressFn

TERMINAL_STATES = frozenset({"done", "failed", "cancelled"})
_POLL_S = 10.0


class DaemonRequestError(ReamendError):
    """The daemon refused a request (bad token, forbidden path, invalid job...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = 2 if 400 <= status < 500 else 1


@dataclass(frozen=True)
class ApiInfo:
    """The contents of ``REAMEND_HOME/api.json``."""

    port: int
    token: str
    pid: int
    version: str


def read_api_file(path: Path) -> ApiInfo | None:
    """``None`` when the file is missing or unreadable: treated as "daemon not running"."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ApiInfo(port=int(data["port"]), token=str(data["token"]), pid=int(data["pid"]),
                       version=str(data.get("version", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class DaemonClient:
    def __init__(self, *, port: int, token: str, pid: int | None = None, timeout_s: float = 10.0) -> None:
        self.port = port
        self.pid = pid
        self._token = token
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> DaemonClient | None:
        """A client for the running daemon, or ``None`` when no live daemon left its api.json."""
        info = read_api_file(settings.api_file)
        if info is None or not pid_alive(info.pid):
            return None
        return cls(port=info.port, token=info.token, pid=info.pid)

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/v1/health")

    def submit(self, spec: JobSpec, *, origin: str, reaper: dict[str, Any] | None = None) -> str:
        body = {**spec.to_json(), "origin": origin, "reaper": reaper}
        return str(self._request("POST", "/v1/jobs", body)["id"])

    def get(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/jobs/{job_id}")

    def list(self, state: str | None = None, limit: int = 50) -> builtins.list[dict[str, Any]]:
        query = urlencode({k: v for k, v in (("state", state), ("limit", limit)) if v is not None})
        jobs: builtins.list[dict[str, Any]] = self._request("GET", f"/v1/jobs?{query}")["jobs"]
        return jobs

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._request("POST", f"/v1/jobs/{job_id}/cancel", {})

    def events(self, *, after: int | None = None, timeout_s: float = 0.0,
               job_id: str | None = None) -> dict[str, Any]:
        """Long-poll job changes after ``after`` (``None``: only changes from now on)."""
        params: dict[str, Any] = {"timeout_s": timeout_s}
        if after is not None:
            params["after"] = after
        if job_id is not None:
            params["job_id"] = job_id
        return self._request("GET", f"/v1/events?{urlencode(params)}", timeout_s=timeout_s + self._timeout_s)

    def shutdown(self, *, force: bool = False) -> dict[str, Any]:
        return self._request("POST", "/v1/shutdown", {"force": force})

    def wait(self, job_id: str, *, progress: ProgressFn | None = None,
             timeout_s: float | None = None) -> dict[str, Any]:
        """Block until the job ends and return its record; ``progress`` sees every change."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        # Take the cursor before reading the job, so no change between the two can be missed.
        cursor = int(self.events(timeout_s=0)["last_seq"])
        record = self.get(job_id)
        while True:
            if progress is not None:
                progress(float(record["progress"]), str(record["message"]))
            if record["state"] in TERMINAL_STATES:
                return record
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"job {job_id} still {record['state']} after {timeout_s} s")
            page = self.events(after=cursor, timeout_s=min(_POLL_S, remaining or _POLL_S), job_id=job_id)
            cursor = int(page["last_seq"])
            events = page["events"]
            if events and events[-1]["state"] not in TERMINAL_STATES:
                last = events[-1]
                record = {**record, "progress": last["progress"], "message": last["message"],
                          "state": last["state"]}
            else:
                record = self.get(job_id)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None,
                 *, timeout_s: float | None = None) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s or self._timeout_s)
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        try:
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (ConnectionError, TimeoutError, OSError, http.client.HTTPException) as exc:
            raise ServiceUnavailableError(f"the reamend daemon on port {self.port} is not reachable ({exc}); "
                                          "start it with 'reamend daemon'") from exc
        finally:
            connection.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise ServiceUnavailableError(f"the daemon sent a response that is not JSON: {raw[:200]!r}") from exc
        if response.status >= 400:
            raise DaemonRequestError(response.status, str(data.get("error", f"HTTP {response.status}")))
        return data

