"""The worker: claims queued jobs and runs them through the one job contract.

Models stay warm because the worker lives as long as the daemon and runners load
them through ``models.registry.load_model``, which caches one instance per
``(name, device)`` per process. The runner lookup is a parameter so tests can
drive a real daemon process with a tiny runner; in production it is
``daemon.jobs.base.runner_for``.

Threads sleep on a condition variable while the queue is empty (no polling), so
an idle daemon costs no CPU.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.jobs.base import JOB_KINDS, JobContext, JobOutcome, JobRunner, JobSpec, runner_for
from daemon.settings import Settings
from daemon.store import JobRecord, JobStore
from models.atomic import is_temporary
from models.errors import CancelledError, ReamendError
from models.progress import CancelToken

log = logging.getLogger(__name__)

RunnerLookup = Callable[[str], JobRunner]
FinishedListener = Callable[[JobRecord], None]


class Worker:
    """A small pool of threads that execute jobs from a :class:`JobStore` one at a time each."""

    def __init__(self, store: JobStore, settings: Settings, *, lookup: RunnerLookup = runner_for,
                 threads: int = 1, progress_interval_s: float = 0.1) -> None:
        self._store = store
        self._settings = settings
        self._lookup = lookup
        self._thread_count = threads
        self._progress_interval_s = progress_interval_s
        self._cond = threading.Condition()
        self._claiming = True
        self._threads: list[threading.Thread] = []
        self._tokens: dict[str, CancelToken] = {}
        self._listeners: list[FinishedListener] = []
        self._started_wall_s = time.time()

    def add_finished_listener(self, listener: FinishedListener) -> None:
        """``listener(record)`` runs on the worker thread after every job ends; keep it quick."""
        self._listeners.append(listener)

    def start(self) -> None:
        for index in range(self._thread_count):
            thread = threading.Thread(target=self._loop, name=f"reamend-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Tell sleeping threads that a job was queued."""
        with self._cond:
            self._cond.notify_all()

    def running_job_ids(self) -> list[str]:
        with self._cond:
            return sorted(self._tokens)

    def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a queued job at once, or ask a running one to stop at its next progress report."""
        if self._store.cancel_queued(job_id):
            return self._store.get(job_id)
        with self._cond:
            token = self._tokens.get(job_id)
        if token is not None:
            token.cancel()
        return self._store.get(job_id)

    def stop(self, *, timeout_s: float | None = None) -> bool:
        """Claim nothing more and wait for running jobs to end; ``True`` when all threads ended."""
        with self._cond:
            self._claiming = False
            self._cond.notify_all()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._threads:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            thread.join(remaining)
        return not any(thread.is_alive() for thread in self._threads)

    def _loop(self) -> None:
        while True:
            with self._cond:
                record = None
                while self._claiming:
                    record = self._store.claim_next()
                    if record is not None:
                        self._tokens[record.id] = CancelToken()
                        break
                    self._cond.wait()
                if record is None:
                    return
                token = self._tokens[record.id]
            try:
                finished = self._execute(record, token)
            finally:
                with self._cond:
                    self._tokens.pop(record.id, None)
            for listener in self._listeners:
                try:
                    listener(finished)
                except Exception:
                    log.exception("job-finished listener failed for job %s", finished.id)

    def _execute(self, record: JobRecord, token: CancelToken) -> JobRecord:
        spec = JobSpec.from_json(record.spec)
        log.info("job %s (%s, attempt %d) started: %s", record.id, spec.kind, record.attempts,
                 ", ".join(p.name for p in spec.inputs))
        ctx = JobContext(progress=_ThrottledProgress(self._store, record.id, token, self._progress_interval_s),
                         cancel=token, device=self._settings.device,
                         user_presets_dir=self._settings.user_presets_dir)
        started = time.perf_counter()
        try:
            if record.attempts > 1:
                _remove_orphaned_partials(spec.out_dir, older_than_s=self._started_wall_s)
            spec.out_dir.mkdir(parents=True, exist_ok=True)
            outcome = self._lookup(spec.kind)(spec, ctx)
        except CancelledError:
            log.info("job %s cancelled", record.id)
            return self._store.finish(record.id, "cancelled", message="cancelled")
        except Exception as exc:
            error = describe_error(exc)
            if isinstance(exc, ReamendError | OSError):
                log.warning("job %s failed: %s", record.id, error)
            else:
                log.exception("job %s failed with an unexpected error", record.id)
            return self._store.finish(record.id, "failed", message="failed", error=error,
                                      error_type=type(exc).__name__)
        elapsed_s = time.perf_counter() - started
        log.info("job %s done in %.2f s", record.id, elapsed_s)
        writeback = self._write_back(record, outcome) if record.reaper is not None else None
        return self._store.finish(record.id, "done", message=f"done in {elapsed_s:.2f} s",
                                  outcome=outcome.to_json(), writeback=writeback)

    def _write_back(self, record: JobRecord, outcome: JobOutcome) -> dict[str, Any]:
        """Hand a finished REAPER job to the REAPER bridge; its failure never fails the job."""
        self._store.set_progress(record.id, 1.0, "writing back to REAPER")
        done = {**record.to_json(), "state": "done", "progress": 1.0, "outcome": outcome.to_json(),
                "finished_at": time.time()}
        try:
            from daemon.reaper.writeback import write_back

            return dict(write_back(done, self._settings))
        except Exception as exc:
            log.exception("REAPER write-back failed for job %s", record.id)
            return {"status": "error", "detail": f"{type(exc).__name__}: {exc}"}


class _ThrottledProgress:
    """The job's ProgressFn: stores progress at most every ``interval_s`` and is where cancel bites."""

    def __init__(self, store: JobStore, job_id: str, token: CancelToken, interval_s: float) -> None:
        self._store = store
        self._job_id = job_id
        self._token = token
        self._interval_s = interval_s
        self._last_s = 0.0
        self._last_message = ""

    def __call__(self, fraction: float, message: str) -> None:
        # Raising here stops runners that only report progress, not just those that poll the token.
        self._token.raise_if_cancelled()
        now = time.monotonic()
        if message == self._last_message and now - self._last_s < self._interval_s and fraction < 1.0:
            return
        self._last_s = now
        self._last_message = message
        self._store.set_progress(self._job_id, min(max(float(fraction), 0.0), 1.0), message)


def describe_error(exc: BaseException) -> str:
    """A message a user can act on; the type name is stored separately."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"disk full{where}: free some space, then submit the file again"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    if isinstance(exc, ReamendError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


def preload_models(settings: Settings, *, lookup: RunnerLookup = runner_for) -> list[str]:
    """``--preload``: import every job runner and load every shipped model now, not on first use."""
    from models.registry import load_model, read_manifest

    for kind in JOB_KINDS:
        try:
            lookup(kind)
        except Exception as exc:
            log.warning("cannot preload the %s runner: %s", kind, exc)
    loaded = []
    for name in sorted(read_manifest()):
        try:
            load_model(name, device=settings.device)
            loaded.append(name)
        except Exception as exc:
            log.warning("cannot preload model %s: %s", name, exc)
    return loaded


def _remove_orphaned_partials(out_dir: Path, *, older_than_s: float) -> None:
    """Delete our own temporary files that a killed run left behind (never anyone's real file)."""
    if not out_dir.is_dir():
        return
    for path in out_dir.iterdir():
        try:
            if is_temporary(path) and path.stat().st_mtime < older_than_s:
                path.unlink()
                log.info("removed a partial file left by an interrupted run: %s", path)
        except FileNotFoundError:
            continue
