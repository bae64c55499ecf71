"""The hot folder: a file dropped into ``REAMEND_HOME/hot/<preset>/`` becomes exactly one job.

Layout per preset::

    hot/<preset>/            drop files here (sub-folders are ignored)
    hot/<preset>/done/       input + its outputs + ``<input>.job.json`` once a job succeeds
    hot/<preset>/failed/     input + ``<input>.error.txt`` saying why
    hot/<preset>/.work/<id>/ outputs while the job runs (moved into done/ at the end)

Readiness: a file is only queued once it is completely written. Where the OS
reports closed files (Linux inotify), a file with write activity is ready when
it was closed and then stayed quiet briefly; a file renamed into the folder is
complete at once; everything else (other platforms, files present at start) is
ready when its size and mtime stay unchanged for ``stable_s``.

Exactly once: the job and its ``hot_files`` row are created in one SQLite
transaction, and the row stays "unfiled" until the input has been moved out of
the folder, so neither a rescan nor a restart can queue the same drop twice; a
crash between the end of a job and the move is repaired at the next start.

Threads: watchdog's observer thread runs :class:`_Handler`, which only filters
paths and puts them on a queue; our own thread does readiness, debouncing,
submission and the moves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from daemon.jobs.base import JobSpec
from daemon.store import HotEntry, JobRecord, JobStore, new_job_id
from models.atomic import is_temporary, write_text_atomic

log = logging.getLogger(__name__)


class _StopRaceFilter(logging.Filter):
    """watchdog's inotify emitter logs a harmless ERROR when stopped while blocked in a read."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_StopRaceFilter())

Readiness = Literal["auto", "close", "stable"]
DONE_DIR = "done"
FAILED_DIR = "failed"
WORK_DIR = ".work"
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})
_TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")


@dataclass(frozen=True)
class HotPreset:
    name: str
    job: str


PresetSource = Callable[[], list[HotPreset]]


def presets_from_settings(user_presets_dir: Path | None) -> PresetSource:
    """Every valid preset, re-read on each call so presets added while running get a folder."""

    def source() -> list[HotPreset]:
        from daemon.presets import list_presets

        return [HotPreset(p.name, p.job) for p in list_presets(user_presets_dir)]

    return source


def is_candidate_name(name: str) -> bool:
    """Hidden, temporary and system files are never jobs."""
    lowered = name.lower()
    if name.startswith((".", "~")) or lowered in _IGNORED_NAMES:
        return False
    if lowered.endswith(_TEMPORARY_SUFFIXES):
        return False
    return not is_temporary(Path(name))


@dataclass(frozen=True)
class HotTiming:
    """How patient the watcher is; tests shorten these."""

    stable_s: float = 1.0  # size and mtime unchanged this long: complete (no closed-file events)
    settle_s: float = 0.2  # quiet time after a close or a rename-in, to coalesce bursts of events
    stale_close_s: float = 30.0  # write activity seen but never a close: fall back to stable size
    poll_s: float = 0.1  # how often pending files are checked while some exist
    rescan_s: float = 30.0  # safety net for missed events (e.g. network shares); cheap listdir


@dataclass
class _Pending:
    path: Path
    preset: HotPreset
    size: int
    mtime_ns: int
    stable_since_s: float
    last_event_s: float
    awaiting_close: bool = False
    closed: bool = False


@dataclass(frozen=True)
class _Message:
    kind: Literal["written", "closed", "moved_in", "gone", "finished", "rescan", "stop"]
    path: Path | None = None
    job_id: str | None = None


class _Handler(FileSystemEventHandler):
    """Runs on watchdog's thread: filter, translate, enqueue. Nothing else."""

    def __init__(self, inbox: queue.SimpleQueue[_Message], watched: Callable[[], Mapping[Path, HotPreset]]) -> None:
        self._inbox = inbox
        self._watched = watched

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if isinstance(event, FileMovedEvent):
            self._put("gone", event.src_path)
            self._put("moved_in", event.dest_path)
        elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
            self._put("written", event.src_path)
        elif isinstance(event, FileClosedEvent):
            self._put("closed", event.src_path)
        elif isinstance(event, FileDeletedEvent):
            self._put("gone", event.src_path)

    def _put(self, kind: Literal["written", "closed", "moved_in", "gone"], raw: bytes | str) -> None:
        path = Path(os.fsdecode(raw))
        if path.parent in self._watched() and is_candidate_name(path.name):
            self._inbox.put(_Message(kind, path=path))


@dataclass
class HotFolder:
    """Watches every preset's folder and turns complete files into jobs."""

    hot_dir: Path
    store: JobStore
    presets: PresetSource
    on_submit: Callable[[], None]
    readiness: Readiness = "auto"
    timing: HotTiming = field(default_factory=HotTiming)

    def __post_init__(self) -> None:
        self._inbox: queue.SimpleQueue[_Message] = queue.SimpleQueue()
        self._watched: dict[Path, HotPreset] = {}
        self._pending: dict[Path, _Pending] = {}
        self._inflight: dict[Path, str] = {}
        self._observer: BaseObserver = Observer()
        self._thread = threading.Thread(target=self._run, name="reamend-hotfolder", daemon=True)
        self._close_events = self.readiness == "close" or (
            self.readiness == "auto" and type(self._observer).__name__ == "InotifyObserver")

    @property
    def folders(self) -> dict[str, Path]:
        return {preset.name: path for path, preset in self._watched.items()}

    def start(self) -> None:
        self._refresh_presets()
        self._inflight = {entry.path: entry.job_id for entry in self.store.unfiled_hot_entries()}
        self._observer.start()
        # Watch first, then scan: a file arriving in between is seen twice, never missed.
        self._inbox.put(_Message("rescan"))
        self._thread.start()
        log.info("hot folder watching %d preset folder(s) under %s (readiness: %s)", len(self._watched),
                 self.hot_dir, "closed-file events" if self._close_events else "stable size")

    def stop(self) -> None:
        if self._thread.ident is not None:
            self._inbox.put(_Message("stop"))
            self._thread.join()
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join()

    def job_finished(self, record: JobRecord) -> None:
        """Worker listener: file a hot job's input and outputs (on our thread, not the worker's)."""
        if record.origin == "hot":
            self._inbox.put(_Message("finished", job_id=record.id))

    # -- our thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        next_rescan_s = time.monotonic() + self.timing.rescan_s
        while True:
            timeout_s = self.timing.poll_s if self._pending else max(next_rescan_s - time.monotonic(), 0.0)
            try:
                message: _Message | None = self._inbox.get(timeout=timeout_s)
            except queue.Empty:
                message = None
            while message is not None:
                if message.kind == "stop":
                    return
                try:
                    self._handle(message)
                except Exception:
                    log.exception("hot folder: could not handle %s", message)
                try:
                    message = self._inbox.get_nowait()
                except queue.Empty:
                    message = None
            self._submit_ready()
            if time.monotonic() >= next_rescan_s:
                self._inbox.put(_Message("rescan"))
                next_rescan_s = time.monotonic() + self.timing.rescan_s

    def _handle(self, message: _Message) -> None:
        if message.kind == "rescan":
            self._rescan()
        elif message.kind == "finished" and message.job_id is not None:
            entry = self.store.hot_entry_for_job(message.job_id)
            if entry is not None:
                self._file(entry)
        elif message.path is not None:
            self._note(message.kind, message.path)

    def _note(self, kind: str, path: Path) -> None:
        now = time.monotonic()
        if kind == "gone":
            self._pending.pop(path, None)
            return
        if path in self._inflight:
            return  # our own runner reading it, or a change after it was queued
        pending = self._pending.get(path) or self._track(path)
        if pending is None:
            return
        pending.last_event_s = now
        if kind == "written":
            pending.awaiting_close = self._close_events
            pending.closed = False
        else:  # closed after writing, or renamed in: complete
            pending.awaiting_close = True
            pending.closed = True

    def _track(self, path: Path) -> _Pending | None:
        preset = self._watched.get(path.parent)
        try:
            stat = path.stat()
        except OSError:
            return None
        if preset is None or not path.is_file():
            return None
        now = time.monotonic()
        pending = _Pending(path=path, preset=preset, size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                           stable_since_s=now, last_event_s=now)
        self._pending[path] = pending
        return pending

    def _submit_ready(self) -> None:
        now = time.monotonic()
        for path, pending in list(self._pending.items()):
            try:
                stat = path.stat()
            except OSError:
                del self._pending[path]
                continue
            if (stat.st_size, stat.st_mtime_ns) != (pending.size, pending.mtime_ns):
                pending.size, pending.mtime_ns, pending.stable_since_s = stat.st_size, stat.st_mtime_ns, now
                continue
            if self._is_ready(pending, now):
                del self._pending[path]
                self._submit(pending)

    def _is_ready(self, pending: _Pending, now: float) -> bool:
        quiet_s = now - pending.last_event_s
        if pending.closed:
            return quiet_s >= self.timing.settle_s and now - pending.stable_since_s >= self.timing.settle_s
        if pending.awaiting_close:
            return quiet_s >= self.timing.stale_close_s and now - pending.stable_since_s >= self.timing.stable_s
        return now - pending.stable_since_s >= self.timing.stable_s

    def _submit(self, pending: _Pending) -> None:
        job_id = new_job_id()
        staging = pending.path.parent / WORK_DIR / job_id
        spec = JobSpec(kind=pending.preset.job, inputs=(pending.path,),  # type: ignore[arg-type]
                       out_dir=staging, preset=pending.preset.name)
        record = self.store.create_hot(spec.to_json(), job_id=job_id, source=pending.path,
                                       preset=pending.preset.name)
        if record is None:
            log.debug("hot folder: %s already has a job", pending.path)
            return
        self._inflight[pending.path] = job_id
        log.info("hot folder: queued job %s for %s (preset %s)", job_id, pending.path.name, pending.preset.name)
        self.on_submit()

    def _rescan(self) -> None:
        self._refresh_presets()
        for entry in self.store.unfiled_hot_entries():
            self._inflight[entry.path] = entry.job_id
            record = self.store.get(entry.job_id)
            if record is None or record.terminal:
                self._file(entry)
        for folder in list(self._watched):
            with contextlib.suppress(OSError):
                for child in folder.iterdir():
                    if (is_candidate_name(child.name) and child not in self._pending
                            and child not in self._inflight and child.is_file()):
                        self._track(child)

    def _refresh_presets(self) -> None:
        try:
            presets = self.presets()
        except Exception as exc:  # an invalid preset file must not stop the watcher
            log.error("hot folder: cannot list presets (%s); keeping the folders already watched", exc)
            return
        watched = dict(self._watched)
        for preset in presets:
            folder = self.hot_dir / preset.name
            if folder in watched:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            # Not recursive: done/, failed/ and .work/ must never produce events or jobs.
            self._observer.schedule(self._handler(), str(folder), recursive=False)
            watched[folder] = preset
        self._watched = watched

    def _handler(self) -> _Handler:
        return _Handler(self._inbox, lambda: self._watched)

    # -- filing ------------------------------------------------------------------------------------

    def _file(self, entry: HotEntry) -> None:
        """Move the input (and outputs) into done/ or failed/, with a readable report beside them."""
        record = self.store.get(entry.job_id)
        succeeded = record is not None and record.state == "done"
        outputs = [Path(o["path"]) for o in (record.outcome or {}).get("outputs", [])] if record else []
        dest = entry.dest_dir
        if dest is None:
            base = entry.path.parent / (DONE_DIR if succeeded else FAILED_DIR)
            dest = _free_destination(base, entry, [entry.path.name, *(p.name for p in outputs)])
            self.store.set_hot_destination(entry.job_id, dest)
        dest.mkdir(parents=True, exist_ok=True)
        moved = []
        if succeeded:
            for output in outputs:
                target = dest / output.name
                if output.exists() or target.exists():
                    _move(output, target)
                    moved.append(target)
        try:
            if entry.path.exists() or (dest / entry.path.name).exists():
                _move(entry.path, dest / entry.path.name)
        except OSError as exc:
            log.error("hot folder: cannot move %s into %s (%s); it stays where it is", entry.path, dest, exc)
            return
        self._write_report(entry, record, dest, moved, succeeded)
        shutil.rmtree(entry.path.parent / WORK_DIR / entry.job_id, ignore_errors=True)
        self.store.mark_filed(entry.job_id)
        self._inflight.pop(entry.path, None)
        log.info("hot folder: %s -> %s", entry.path.name, dest)

    def _write_report(self, entry: HotEntry, record: JobRecord | None, dest: Path, moved: list[Path],
                      succeeded: bool) -> None:
        try:
            if succeeded and record is not None:
                write_text_atomic(dest / f"{entry.path.name}.job.json", _success_report(entry, record, moved))
            else:
                write_text_atomic(dest / f"{entry.path.name}.error.txt", _failure_report(entry, record))
        except OSError as exc:  # e.g. the disk is full: the input is already safe in dest
            log.error("hot folder: cannot write the report for %s: %s", entry.path.name, exc)


def _free_destination(base: Path, entry: HotEntry, names: list[str]) -> Path:
    """``base`` itself, unless an earlier drop of the same name is there: then a sub-folder."""
    report_names = [f"{entry.path.name}.job.json", f"{entry.path.name}.error.txt"]
    if not any((base / name).exists() for name in [*names, *report_names]):
        return base
    return base / f"{entry.path.stem}-{entry.job_id[:8]}"


def _move(source: Path, target: Path) -> None:
    """Rename without ever replacing a different file; idempotent when resumed after a crash."""
    if target.exists():
        if not source.exists():
            return  # moved before a crash; nothing left to do
        if not os.path.samefile(source, target):
            raise FileExistsError(f"{target} already exists")
        source.unlink()  # two names for one file: drop the one in the hot folder
        return
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: the hot folder spans file systems; copy, then remove
            raise
        shutil.move(str(source), str(target))


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).isoformat(timespec="seconds")


def _success_report(entry: HotEntry, record: JobRecord, moved: list[Path]) -> str:
    outcome = record.outcome or {}
    roles = {Path(o["path"]).name: o["role"] for o in outcome.get("outputs", [])}
    elapsed = (record.finished_at - record.started_at) if record.finished_at and record.started_at else None
    report: dict[str, Any] = {
        "input": entry.path.name, "state": record.state, "job_id": record.id, "preset": entry.preset,
        "kind": record.kind, "queued_at": _iso(record.created_at), "finished_at": _iso(record.finished_at),
        "elapsed_s": round(elapsed, 3) if elapsed is not None else None,
        "outputs": [{"role": roles.get(path.name, "output"), "file": path.name} for path in moved],
        "summary": outcome.get("summary", {}), "messages": outcome.get("messages", []),
    }
    return json.dumps(report, indent=2, default=str) + "\n"


def _failure_report(entry: HotEntry, record: JobRecord | None) -> str:
    if record is None:
        reason = "the job record is missing from the job database"
    elif record.state == "cancelled":
        reason = "the job was cancelled"
    else:
        reason = record.error or record.message or "unknown error"
    lines = [f"reamend could not process {entry.path.name}", "", f"reason: {reason}"]
    if record is not None:
        lines += [f"error type: {record.error_type or '-'}", f"job: {record.id} (preset {entry.preset}, "
                  f"job {record.kind})", f"queued at: {_iso(record.created_at)}",
                  f"ended at: {_iso(record.finished_at)}"]
    lines += ["", "The input file was not modified. Fix the problem, then drop the file into the hot folder again."]
    return "\n".join(lines) + "\n"
