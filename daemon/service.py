"""The daemon as a service: explicit start-up, run, and a graceful shutdown on a signal.

Start-up order matters: take the per-home lock (one daemon per ``REAMEND_HOME``),
open the job store and requeue jobs a crash interrupted, start the worker, the
API and the hot folder, and only then publish ``api.json``: a client that finds
the file finds a daemon ready to answer.

Shutdown: the first SIGTERM/SIGINT (or ``POST /v1/shutdown``) stops the hot
folder and new submissions and lets running jobs finish (queued jobs stay queued
for the next start); a second signal exits at once, which is as safe as a crash:
the interrupted jobs run again at the next start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from daemon.api import ApiBackend, ApiServer
from daemon.hotfolder import HotFolder, HotTiming, PresetSource, Readiness, presets_from_settings
from daemon.jobs.base import runner_for
from daemon.settings import Settings
from daemon.store import JobStore
from daemon.worker import RunnerLookup, Worker, preload_models
from models.atomic import atomic_path
from models.errors import ReamendError

log = logging.getLogger(__name__)


class DaemonAlreadyRunningError(ReamendError):
    """Another daemon holds this ``REAMEND_HOME``."""


@dataclass(frozen=True)
class ServiceOptions:
    """How to build the service; the defaults are production, tests swap the runner lookup."""

    preload: bool = False
    lookup: RunnerLookup = runner_for
    presets: PresetSource | None = None
    readiness: Readiness = "auto"
    hot_timing: HotTiming = field(default_factory=HotTiming)
    max_attempts: int = 3  # a job that kills the daemon this often is failed instead of retried forever
    drain_timeout_s: float | None = None


class InstanceLock:
    """An OS file lock: released by the kernel even after kill -9, so it never goes stale."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] = open(path, "a+")  # noqa: SIM115 - held for the daemon's lifetime
        try:
            _lock_file(self._handle)
        except OSError as exc:
            self._handle.close()
            raise DaemonAlreadyRunningError(
                f"a reamend daemon is already running for {path.parent}; stop it with 'reamend daemon stop'"
            ) from exc

    def release(self) -> None:
        self._handle.close()


def _lock_file(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def write_api_file(path: Path, info: dict[str, Any]) -> None:
    """Atomically, readable by the user alone (it holds the token)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.chmod(tmp, 0o600)


class Service:
    def __init__(self, settings: Settings, options: ServiceOptions | None = None) -> None:
        self.settings = settings
        self.options = options or ServiceOptions()
        self._stop = threading.Event()
        self._device: str = settings.device
        self._started_monotonic = time.monotonic()
        self._started_wall = time.time()
        self._lock: InstanceLock | None = None
        self.store: JobStore | None = None
        self.worker: Worker | None = None
        self.hot: HotFolder | None = None
        self.server: ApiServer | None = None
        self.backend: ApiBackend | None = None
        self._api_thread: threading.Thread | None = None
        self._warm_thread: threading.Thread | None = None

    # -- start-up ----------------------------------------------------------------------------------

    def start(self) -> None:
        settings = self.settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self._lock = InstanceLock(settings.home / "daemon.lock")
        self.store = JobStore(settings.db_path)
        for record in self.store.recover_interrupted(max_attempts=self.options.max_attempts):
            log.warning("job %s was interrupted by a stop or crash; now %s", record.id, record.state)
        self.worker = Worker(self.store, settings, lookup=self.options.lookup, threads=settings.workers)
        self.hot = HotFolder(settings.hot_dir, self.store,
                             self.options.presets or presets_from_settings(settings.user_presets_dir),
                             on_submit=self.worker.wake, readiness=self.options.readiness,
                             timing=self.options.hot_timing)
        self.worker.add_finished_listener(self.hot.job_finished)
        self.backend = ApiBackend(settings=settings, store=self.store, worker=self.worker,
                                  token=secrets.token_urlsafe(32), health=self.health,
                                  request_shutdown=self.request_stop)
        self.server = ApiServer(self.backend, port=settings.api_port)
        self._api_thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.5},
                                            name="reamend-api", daemon=True)
        self._api_thread.start()
        self._warm_thread = threading.Thread(target=self._warm_up, name="reamend-warm-up", daemon=True)
        self._warm_thread.start()
        self.worker.start()
        self.hot.start()
        write_api_file(settings.api_file, {"port": self.server.port, "token": self.backend.token,
                                           "pid": os.getpid(), "version": _version()})
        log.info("reamend daemon %s ready: pid %d, API on 127.0.0.1:%d, home %s", _version(), os.getpid(),
                 self.server.port, settings.home)

    def _warm_up(self) -> None:
        """Resolve the device (imports torch) and preload models off the start-up path."""
        if self.settings.device == "auto":
            from models.registry import pick_device

            self._device = pick_device("auto")
            log.info("device: %s", self._device)
        if self.options.preload:
            started = time.perf_counter()
            names = preload_models(self.settings, lookup=self.options.lookup)
            log.info("preloaded %d model(s) in %.1f s: %s", len(names), time.perf_counter() - started,
                     ", ".join(names) or "none")

    # -- running -----------------------------------------------------------------------------------

    def run(self) -> int:
        """Block until asked to stop, then drain; call from the main thread (signals)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not self._stop.wait(1.0):
            pass
        self.shutdown()
        return 0

    def request_stop(self, force: bool = False) -> None:
        if force:
            # Let the API answer first, then leave like a crash would (jobs rerun at next start).
            threading.Timer(0.2, self._exit_now, args=(1,)).start()
        self._stop.set()

    def _on_signal(self, signum: int, frame: object) -> None:
        if self._stop.is_set():
            log.warning("second signal: stopping at once; running jobs will run again at the next start")
            self._exit_now(128 + signum)
        running = self.worker.running_job_ids() if self.worker else []
        log.info("signal %d: finishing %d running job(s), then stopping (signal again to stop at once)",
                 signum, len(running))
        self._stop.set()

    def _exit_now(self, code: int) -> None:
        self._remove_api_file()
        logging.shutdown()
        os._exit(code)

    def shutdown(self) -> None:
        """Graceful: stop intake, let running jobs finish, then close everything."""
        if self.backend is not None:
            self.backend.accepting.clear()
        if self.hot is not None:
            self.hot.stop()
        if self.worker is not None and not self.worker.stop(timeout_s=self.options.drain_timeout_s):
            log.warning("jobs still running after %s s; they will run again at the next start",
                        self.options.drain_timeout_s)
        if self.server is not None:
            if self._api_thread is not None:
                self.server.shutdown()
            self.server.server_close()
        self._remove_api_file()
        if self._warm_thread is not None:
            self._warm_thread.join()  # a preload in progress finishes (seconds) rather than dying mid-import
        if self.store is not None:
            self.store.close()
        if self._lock is not None:
            self._lock.release()
        log.info("reamend daemon stopped")

    def _remove_api_file(self) -> None:
        from daemon.client import read_api_file

        info = read_api_file(self.settings.api_file)
        if info is not None and info.pid == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                self.settings.api_file.unlink()

    # -- status ------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        from models.registry import loaded_models

        assert self.store is not None and self.hot is not None and self.backend is not None
        counts = self.store.counts()
        models = loaded_models()
        return {"ok": True, "pid": os.getpid(), "version": _version(), "device": self._device,
                "models_loaded": [name for name, _ in models],
                "models": [{"name": name, "device": device} for name, device in models],
                "queue": {"queued": counts["queued"], "running": counts["running"]}, "jobs": counts,
                "uptime_s": round(time.monotonic() - self._started_monotonic, 3),
                "started_at": self._started_wall, "memory": memory_usage(),
                "hot_folders": {name: str(path) for name, path in self.hot.folders.items()},
                "accepting_jobs": self.backend.accepting.is_set(), "home": str(self.settings.home)}


def memory_usage() -> dict[str, int | None]:
    """Resident memory, plus CUDA memory held by torch when a GPU is in use."""
    import psutil

    cuda_bytes: int | None = None
    torch = sys.modules.get("torch")  # never import torch just to answer a status request
    try:
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            cuda_bytes = int(torch.cuda.memory_allocated())
    except AttributeError:  # torch is still being imported by the warm-up thread
        cuda_bytes = None
    return {"rss_bytes": int(psutil.Process().memory_info().rss), "cuda_allocated_bytes": cuda_bytes}


def _version() -> str:
    from daemon.cli import version

    return version()


def serve(settings: Settings, options: ServiceOptions | None = None, *, log_to_terminal: bool = True) -> int:
    """Configure logging, start, run until stopped. The entry point for every way to run the daemon."""
    from daemon.logging_setup import configure_daemon_logging

    log_file = configure_daemon_logging(settings.log_dir, settings.log_level, to_terminal=log_to_terminal)
    log.info("logging to %s", log_file)
    service = Service(settings, options)
    try:
        service.start()
    except BaseException:
        service.shutdown()
        raise
    return service.run()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m daemon.service [--preload]``: the daemon without the CLI around it."""
    from daemon.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m daemon.service")
    parser.add_argument("--preload", action="store_true", help="load every model at start")
    args = parser.parse_args(argv)
    try:
        return serve(load_settings(), ServiceOptions(preload=args.preload))
    except ReamendError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
