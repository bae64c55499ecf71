"""The local control API: HTTP/1.1 + JSON on 127.0.0.1, every request authenticated by a token.

The contract is in the README's "Daemon API" section (notes/api.md). The
standard library's threading HTTP server is enough: requests are few and tiny,
its threads block in ``accept``/``recv`` when idle (no CPU), and it adds no
dependency. Each request gets its own thread, so a long-polling client never
delays a submit.

Security: the socket binds loopback only; the token (``secrets.token_urlsafe``)
lives in ``REAMEND_HOME/api.json`` readable by the user alone and is compared in
constant time; any path a request names must resolve (symlinks followed) under
an allowed root, so a local process without the token, or with it but pointing
at e.g. ``/etc``, gets nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from daemon.jobs.base import JOB_KINDS
from daemon.settings import Settings
from daemon.store import ALL_STATES, JobStore
from daemon.worker import Worker

log = logging.getLogger(__name__)

ORIGINS = ("cli", "api", "hot", "reaper")
MAX_BODY_BYTES = 1 << 20
MAX_POLL_S = 60.0


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def allowed_roots(settings: Settings) -> tuple[Path, ...]:
    """Where request paths may point: home, REAMEND_HOME, the temp folder and configured roots."""
    roots = [Path.home(), settings.home, Path(tempfile.gettempdir()), *settings.allowed_roots]
    return tuple(dict.fromkeys(root.expanduser().resolve() for root in roots))


def check_path(raw: Any, roots: tuple[Path, ...], *, what: str) -> Path:
    """An absolute path under an allowed root (403 otherwise), with symlinks resolved."""
    if not isinstance(raw, str) or not raw:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{what} must be a non-empty string path")
    path = Path(raw)
    if not path.is_absolute():
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{what} must be an absolute path: {raw}")
    resolved = path.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise ApiError(HTTPStatus.FORBIDDEN, f"{what} is outside the allowed folders: {raw} "
                       f"(allowed: {', '.join(str(r) for r in roots)}; add more with the allowed_roots setting)")
    return path


@dataclass
class ApiBackend:
    """What the API needs from the running service."""

    settings: Settings
    store: JobStore
    worker: Worker
    token: str
    health: Callable[[], dict[str, Any]]
    request_shutdown: Callable[[bool], None]
    accepting: threading.Event = field(default_factory=threading.Event)
    roots: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        self.roots = self.roots or allowed_roots(self.settings)
        self.accepting.set()


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when many clients submit at once

    def __init__(self, backend: ApiBackend, *, port: int) -> None:
        self.backend = backend
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiServer
    timeout = 30  # a stuck client must not hold a thread forever

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        try:
            self._authenticate()
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            status, payload = _route(self.server.backend, method, parts, query, self._body)
        except ApiError as exc:
            status, payload = exc.status, {"error": str(exc)}
        except Exception as exc:
            log.exception("API request %s %s failed", method, self.path)
            status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc}"}
        self._reply(status, payload)

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        expected = self.server.backend.token
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
            raise ApiError(HTTPStatus.UNAUTHORIZED, "missing or wrong token (see REAMEND_HOME/api.json)")

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Content-Length must be a number") from exc
        if length > MAX_BODY_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return data

    def _reply(self, status: HTTPStatus, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, default=str).encode()
        # Unread request bodies (e.g. after a 401) would confuse keep-alive: close every connection.
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        if status == HTTPStatus.UNAUTHORIZED:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(body)


def _route(backend: ApiBackend, method: str, parts: list[str], query: dict[str, str],
           body: Callable[[], dict[str, Any]]) -> tuple[HTTPStatus, dict[str, Any]]:
    if not parts or parts[0] != "v1":
        raise ApiError(HTTPStatus.NOT_FOUND, "unknown endpoint; the API lives under /v1/")
    match method, parts[1:]:
        case "GET", ["health"]:
            return HTTPStatus.OK, backend.health()
        case "POST", ["jobs"]:
            return HTTPStatus.ACCEPTED, _submit(backend, body())
        case "GET", ["jobs"]:
            return HTTPStatus.OK, _list(backend, query)
        case "GET", ["jobs", job_id]:
            return HTTPStatus.OK, _job(backend, job_id)
        case "POST", ["jobs", job_id, "cancel"]:
            _job(backend, job_id)
            record = backend.worker.cancel(job_id)
            return HTTPStatus.OK, record.to_json() if record else {}
        case "GET", ["events"]:
            return HTTPStatus.OK, _events(backend, query)
        case "POST", ["shutdown"]:
            force = bool(body().get("force", False))
            backend.request_shutdown(force)
            return HTTPStatus.ACCEPTED, {"ok": True, "force": force}
    raise ApiError(HTTPStatus.NOT_FOUND, f"no endpoint {method} /{'/'.join(parts)}")


def _job(backend: ApiBackend, job_id: str) -> dict[str, Any]:
    record = backend.store.get(job_id)
    if record is None:
        raise ApiError(HTTPStatus.NOT_FOUND, f"no job {job_id!r}")
    return record.to_json()


def _list(backend: ApiBackend, query: dict[str, str]) -> dict[str, Any]:
    state = query.get("state") or None
    if state is not None and state not in ALL_STATES:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"state must be one of {', '.join(ALL_STATES)}")
    limit = _number(query, "limit", 50, int)
    jobs = backend.store.list_jobs(state=state, limit=max(1, min(limit, 1000)))
    return {"jobs": [job.to_json() for job in jobs]}


def _events(backend: ApiBackend, query: dict[str, str]) -> dict[str, Any]:
    after = _number(query, "after", None, int)
    timeout_s = min(max(_number(query, "timeout_s", 0.0, float), 0.0), MAX_POLL_S)
    page = backend.store.events.after(after, timeout_s=timeout_s, job_id=query.get("job_id") or None)
    return {"events": [event.to_json() for event in page.events], "last_seq": page.last_seq}


def _number(query: dict[str, str], name: str, default: Any, kind: Callable[[str], Any]) -> Any:
    if name not in query or query[name] == "":
        return default
    try:
        value = kind(query[name])
    except ValueError as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be a number") from exc
    if not math.isfinite(value):
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be a finite number")
    return value


def _submit(backend: ApiBackend, data: dict[str, Any]) -> dict[str, Any]:
    if not backend.accepting.is_set():
        raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the daemon is shutting down; submit again after restart")
    spec, origin, reaper = _validated_request(backend, data)
    from daemon.store import new_job_id

    job_id = new_job_id()
    if spec["out_dir"] is None:
        spec["out_dir"] = str(backend.settings.home / "outputs" / job_id)
    record = backend.store.create(spec, origin=origin, reaper=reaper, job_id=job_id)
    backend.worker.wake()
    return {"id": record.id, "state": record.state}


def _validated_request(backend: ApiBackend, data: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
    kind = data.get("kind")
    if kind not in JOB_KINDS:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"kind must be one of {', '.join(JOB_KINDS)}")
    raw_inputs = data.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise ApiError(HTTPStatus.BAD_REQUEST, "inputs must be a non-empty list of absolute paths")
    inputs = [check_path(raw, backend.roots, what="input") for raw in raw_inputs]
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"input file(s) not found: {', '.join(missing)}")
    out_dir = data.get("out_dir")
    if out_dir is not None:
        check_path(out_dir, backend.roots, what="out_dir")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "options must be a JSON object")
    origin = data.get("origin") or "api"
    if origin not in ORIGINS:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"origin must be one of {', '.join(ORIGINS)}")
    reaper = data.get("reaper")
    if reaper is not None and not isinstance(reaper, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "reaper must be a JSON object or null")
    preset = data.get("preset")
    if isinstance(preset, str) and preset.endswith(".toml"):
        check_path(preset, backend.roots, what="preset file")
    if preset is not None:
        _check_preset(backend, str(preset), kind)
    spec = {"kind": kind, "inputs": [str(p) for p in inputs], "out_dir": out_dir, "preset": preset,
            "options": options}
    return spec, origin, reaper


def _check_preset(backend: ApiBackend, name: str, kind: str) -> None:
    from daemon.presets import find_preset
    from models.errors import PresetError

    try:
        find_preset(name, backend.settings.user_presets_dir, job=kind)
    except PresetError as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, str(exc)) from exc
