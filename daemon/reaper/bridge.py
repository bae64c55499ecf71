"""The one door to REAPER: the only module that imports reapy, and only when first needed.

reapy's client has sharp edges (see DESIGN.md): it connects at import time, keeps
one socket per process that concurrent threads corrupt, has no timeout (a dead
REAPER script can hang a caller forever) and a REAPER restart silently
invalidates every handle. So:

- every REAPER call runs on one dedicated thread, as a batch inside
  ``reapy.inside_reaper()`` (one round trip per call instead of one defer tick);
- callers wait with a timeout; on timeout the socket is shut down, which frees
  the blocked thread, and the next batch reconnects;
- reconnecting backs off (0.25 s doubling to 5 s) until a deadline;
- batches receive the ReaScript API module and resolve items by GUID themselves
  (:func:`find_item_by_guid`), never trusting a handle from an earlier batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from types import ModuleType
from typing import Any, TypeVar

from daemon.settings import Settings
from models.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")
Rpr = Any  # reapy.reascript_api: RPR_* functions without the prefix, tuples come back as lists
BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 5.0
HOLD_ATTEMPTS = 3


class ReaperUnavailableError(ServiceUnavailableError):
    """REAPER (or reapy's server inside it) cannot be reached right now."""


def _import_reapy() -> ModuleType:
    """Import reapy quietly: its import-time connection attempt only warns when REAPER is absent."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import reapy
    return reapy


class ReaperBridge:
    """A single thread that owns reapy's connection and runs batches of REAPER calls."""

    def __init__(self, *, web_port: int, timeout_s: float) -> None:
        self.web_port = web_port
        self.timeout_s = timeout_s
        self._tasks: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._connected = False
        self._client: Any = None
        self._thread = threading.Thread(target=self._serve, name="reamend-reaper-bridge", daemon=True)
        self._thread.start()

    # --- public ---------------------------------------------------------------------------

    def run(self, batch: Callable[[Rpr], T], *, timeout_s: float | None = None,
            connect_deadline_s: float = 0.0) -> T:
        """Run ``batch(rpr)`` on the bridge thread inside one ``inside_reaper()`` block.

        ``connect_deadline_s`` is how long to keep retrying (with backoff) when REAPER
        is not reachable yet; a batch already sent is never retried, so writes happen
        at most once. Raises :class:`ReaperUnavailableError` on timeout or no REAPER.
        """
        limit_s = self.timeout_s if timeout_s is None else timeout_s
        future: Future[T] = Future()
        self._tasks.put(lambda: self._execute(batch, future, connect_deadline_s))
        try:
            return future.result(timeout=limit_s + connect_deadline_s)
        except FutureTimeoutError as exc:
            future.cancel()
            self._abort_connection()
            raise ReaperUnavailableError(f"REAPER did not answer within {limit_s:.1f} s") from exc

    def close(self) -> None:
        self._tasks.put(None)
        self._thread.join(timeout=5)

    # --- bridge thread ----------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                self._disconnect()
                return
            task()

    def _execute(self, batch: Callable[[Rpr], T], future: Future[T], connect_deadline_s: float) -> None:
        if not future.set_running_or_notify_cancel():
            return  # its caller gave up waiting before the bridge got to it
        try:
            hold = self._hold(deadline=time.monotonic() + connect_deadline_s)
            reapy = _import_reapy()
            with hold:
                result = batch(reapy.reascript_api)
        except ReaperUnavailableError as exc:
            future.set_exception(exc)
            return
        except (OSError, json.JSONDecodeError) as exc:
            # A broken socket mid-batch: REAPER quit or restarted. Never retried (writes!).
            self._connected = False
            future.set_exception(ReaperUnavailableError(f"lost the connection to REAPER ({exc!r})"))
            return
        except BaseException as exc:
            future.set_exception(exc)
            return
        future.set_result(result)

    def _hold(self, *, deadline: float) -> contextlib.AbstractContextManager[None]:
        """Enter reapy's HOLD, reconnecting first if the socket turns out dead.

        A dead socket (REAPER restarted) only shows when used. HOLD changes nothing
        in REAPER, so failing there is the one point where retrying is safe.
        """
        reapy = _import_reapy()
        for _ in range(HOLD_ATTEMPTS):
            self._ensure_connected(deadline=deadline)
            hold = reapy.inside_reaper()
            try:
                hold.__enter__()
            except (OSError, json.JSONDecodeError) as exc:
                log.info("REAPER connection was dead (%r); reconnecting", exc)
                self._connected = False
                continue
            return _Entered(hold)
        raise ReaperUnavailableError("REAPER accepts connections but drops them (its reapy server keeps failing)")

    def _ensure_connected(self, *, deadline: float) -> None:
        delay_s = BACKOFF_START_S
        while not self._connected:
            try:
                self._connect()
            except ReaperUnavailableError:
                if time.monotonic() + delay_s > deadline:
                    raise
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, BACKOFF_MAX_S)

    def _connect(self) -> None:
        reapy = _import_reapy()
        from reapy.tools.network import machines

        self._disconnect()
        reapy.config.WEB_INTERFACE_PORT = self.web_port
        stale = machines.CLIENTS.pop("localhost", None)  # e.g. from reapy's import-time attempt on 2307
        if stale is not None:
            with contextlib.suppress(OSError):
                stale._socket.close()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reapy.reconnect()
        except (OSError, json.JSONDecodeError) as exc:
            raise ReaperUnavailableError(f"REAPER's reapy server refused the connection ({exc!r})") from exc
        client = machines.CLIENTS.get("localhost")
        if client is None:
            raise ReaperUnavailableError(self._why_not_connected())
        machines.CLIENT = client
        self._client = client
        self._connected = True
        log.info("connected to REAPER through reapy (web port %d, server port %s)", self.web_port, client.port)

    def _why_not_connected(self) -> str:
        """Tell "REAPER is not running" from "REAPER runs but our server is not set up"."""
        import urllib.error
        import urllib.request

        url = f"http://127.0.0.1:{self.web_port}/_/GET/EXTSTATE/reapy/activate_reapy_server"
        try:
            with urllib.request.urlopen(url, timeout=0.5) as response:
                answer = response.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError):
            return f"no REAPER web interface on 127.0.0.1:{self.web_port}"
        if answer.rstrip("\n").split("\t")[-1]:
            return "REAPER runs but its reapy server did not start (see REAPER's ReaScript console)"
        return "REAPER runs but reamend's reapy server is not installed: run 'python install.py --reaper'"

    def _disconnect(self) -> None:
        self._connected = False
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client._socket.close()

    def _abort_connection(self) -> None:
        """Called from a waiting thread: shutting the socket down unblocks the bridge thread."""
        client = self._client
        self._connected = False
        if client is not None:
            with contextlib.suppress(OSError):
                client._socket.shutdown(2)


_BRIDGES: dict[int, ReaperBridge] = {}
_BRIDGES_LOCK = threading.Lock()


def get_bridge(settings: Settings) -> ReaperBridge:
    """The process-wide bridge for this REAPER web port (one reapy connection per process)."""
    with _BRIDGES_LOCK:
        bridge = _BRIDGES.get(settings.reaper_web_port)
        if bridge is None:
            if _BRIDGES:  # reapy keeps one global connection: switching ports replaces it
                close_bridges()
            bridge = ReaperBridge(web_port=settings.reaper_web_port, timeout_s=settings.reaper_timeout_s)
            _BRIDGES[settings.reaper_web_port] = bridge
        return bridge


def close_bridges() -> None:
    """Stop every bridge thread (daemon shutdown, tests)."""
    for bridge in list(_BRIDGES.values()):
        bridge.close()
    _BRIDGES.clear()


def probe_reaper(settings: Settings) -> tuple[bool, str]:
    """For ``reamend doctor``: can we talk to REAPER right now, and what to do if not."""
    try:
        version = get_bridge(settings).run(lambda rpr: rpr.GetAppVersion(), timeout_s=3.0)
    except ServiceUnavailableError as exc:
        return False, (f"not reachable on web port {settings.reaper_web_port} ({exc}); start REAPER "
                       "after 'python install.py --reaper' (REAPER is optional)")
    except Exception as exc:
        return False, f"reapy error: {exc!r}"
    return True, f"REAPER {version} reachable through reapy (web port {settings.reaper_web_port})"


# --- helpers for batches (they run on the bridge thread, inside REAPER's hold) -------------


def item_guid(rpr: Rpr, item: str) -> str:
    return str(rpr.GetSetMediaItemInfo_String(item, "GUID", "", False)[3])


def take_guid(rpr: Rpr, take: str) -> str:
    return str(rpr.GetSetMediaItemTakeInfo_String(take, "GUID", "", False)[3])


def find_item_by_guid(rpr: Rpr, guid: str) -> str | None:
    """Handles die with a REAPER restart; GUIDs survive it, so every write starts here."""
    for index in range(int(rpr.CountMediaItems(0))):
        item = rpr.GetMediaItem(0, index)
        if item and item_guid(rpr, item) == guid:
            return str(item)
    return None


def find_take_by_guid(rpr: Rpr, item: str, guid: str) -> str | None:
    for index in range(int(rpr.CountTakes(item))):
        take = rpr.GetMediaItemTake(item, index)
        if take and take_guid(rpr, take) == guid:
            return str(take)
    return None


def source_path(rpr: Rpr, take: str) -> str:
    source = rpr.GetMediaItemTake_Source(take)
    return str(rpr.GetMediaSourceFileName(source, "", 4096)[1]) if source else ""


class _Entered(contextlib.AbstractContextManager[None]):
    """An ``inside_reaper()`` block already entered: leaving it sends RELEASE."""

    def __init__(self, hold: Any) -> None:
        self._hold = hold

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> None:
        self._hold.__exit__(*exc_info)
