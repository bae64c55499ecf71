"""The persistent job queue: one SQLite file under ``REAMEND_HOME``, plus a live change feed.

SQLite (standard library, WAL journal) makes every state change a committed
transaction, so a kill -9 at any moment leaves a consistent queue: on the next
start :meth:`JobStore.recover_interrupted` puts jobs that were ``running`` back
to ``queued``. Claiming a job is one ``UPDATE ... WHERE state = 'queued'``, so
no job ever runs twice at the same time, and the hot folder's bookkeeping
(``hot_files``) is written in the same transaction as the job it creates, so a
dropped file maps to exactly one job even across crashes.

Every committed change is also published on an in-memory :class:`EventBus`
that the API's long-poll endpoint reads; progress is not worth a disk write per
tick, so only the latest progress is stored and history lives in memory.
"""

from __future__ import annotations

import collections
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
TERMINAL_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})
ALL_STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    origin TEXT NOT NULL,
    reaper TEXT,
    outcome TEXT,
    error TEXT,
    error_type TEXT,
    writeback TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, seq);
CREATE TABLE IF NOT EXISTS hot_files (
    path TEXT NOT NULL,
    job_id TEXT NOT NULL,
    preset TEXT NOT NULL,
    dest_dir TEXT,
    filed INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS hot_files_unfiled ON hot_files(path) WHERE filed = 0;
CREATE INDEX IF NOT EXISTS hot_files_by_job ON hot_files(job_id);
"""


@dataclass(frozen=True)
class JobRecord:
    """One job as stored; :meth:`to_json` is the API's job record (see notes/api.md)."""

    id: str
    kind: str
    state: str
    progress: float
    message: str
    spec: Mapping[str, Any]
    origin: str
    reaper: Mapping[str, Any] | None
    outcome: Mapping[str, Any] | None
    error: str | None
    error_type: str | None
    writeback: Mapping[str, Any] | None
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "progress": self.progress,
                "message": self.message, "spec": dict(self.spec), "origin": self.origin,
                "reaper": dict(self.reaper) if self.reaper is not None else None,
                "outcome": dict(self.outcome) if self.outcome is not None else None,
                "error": self.error, "error_type": self.error_type,
                "writeback": dict(self.writeback) if self.writeback is not None else None,
                "attempts": self.attempts, "created_at": self.created_at,
                "started_at": self.started_at, "finished_at": self.finished_at}


@dataclass(frozen=True)
class HotEntry:
    """A hot-folder file that became a job and has not been filed into done/ or failed/ yet."""

    path: Path
    job_id: str
    preset: str
    dest_dir: Path | None


@dataclass(frozen=True)
class JobEvent:
    seq: int
    job_id: str
    state: str
    progress: float
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "job_id": self.job_id, "state": self.state,
                "progress": self.progress, "message": self.message}


@dataclass(frozen=True)
class EventPage:
    events: tuple[JobEvent, ...]
    last_seq: int


class EventBus:
    """Recent job changes in memory, for long-polling clients.

    Sequence numbers start at the start time in microseconds, so they keep
    increasing across daemon restarts and a client's cursor never goes stale
    into "the future".
    """

    def __init__(self, *, capacity: int = 10_000) -> None:
        self._cond = threading.Condition()
        self._events: collections.deque[JobEvent] = collections.deque(maxlen=capacity)
        self._seq = time.time_ns() // 1000

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self._seq

    def publish(self, job_id: str, state: str, progress: float, message: str) -> int:
        with self._cond:
            self._seq += 1
            self._events.append(JobEvent(self._seq, job_id, state, progress, message))
            self._cond.notify_all()
            return self._seq

    def after(self, seq: int | None, *, timeout_s: float, job_id: str | None = None,
              limit: int = 500) -> EventPage:
        """Events newer than ``seq`` (``None``: from now on), waiting up to ``timeout_s`` for one."""
        deadline = time.monotonic() + max(timeout_s, 0.0)
        with self._cond:
            cursor = self._seq if seq is None else seq
            while True:
                newer = [e for e in self._events if e.seq > cursor][:limit]
                if newer:
                    last = newer[-1].seq
                    matching = tuple(e for e in newer if job_id is None or e.job_id == job_id)
                    if matching:
                        return EventPage(matching, last)
                    cursor = last
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return EventPage((), max(cursor, 0))
                self._cond.wait(remaining)


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


class JobStore:
    """Thread-safe access to the job database; one connection guarded by a lock."""

    def __init__(self, db_path: Path, *, events: EventBus | None = None) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.path = db_path
        self.events = events or EventBus()
        self._lock = threading.RLock()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so each change is one explicit commit.
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against process crashes (kill -9) in WAL mode; only power loss can drop
        # the very last commits, and those jobs simply run again.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- creating and reading jobs -------------------------------------------------------------

    def create(self, spec: Mapping[str, Any], *, origin: str, reaper: Mapping[str, Any] | None = None,
               job_id: str | None = None) -> JobRecord:
        job_id = job_id or new_job_id()
        with self._transaction() as db:
            self._insert(db, job_id, spec, origin=origin, reaper=reaper)
        return self._published(job_id)

    def create_hot(self, spec: Mapping[str, Any], *, job_id: str, source: Path, preset: str) -> JobRecord | None:
        """Create a job for a hot-folder file, unless that file already has one (then ``None``)."""
        with self._transaction() as db:
            taken = db.execute("SELECT 1 FROM hot_files WHERE path = ? AND filed = 0", (str(source),)).fetchone()
            if taken:
                return None
            self._insert(db, job_id, spec, origin="hot", reaper=None)
            db.execute("INSERT INTO hot_files (path, job_id, preset) VALUES (?, ?, ?)",
                       (str(source), job_id, preset))
        return self._published(job_id)

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _record(row) if row else None

    def list_jobs(self, *, state: str | None = None, limit: int = 50) -> list[JobRecord]:
        """Newest first."""
        with self._lock:
            if state is None:
                rows = self._db.execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
            else:
                rows = self._db.execute("SELECT * FROM jobs WHERE state = ? ORDER BY seq DESC LIMIT ?",
                                        (state, limit)).fetchall()
        return [_record(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        found = {row[0]: int(row[1]) for row in rows}
        return {state: found.get(state, 0) for state in ALL_STATES}

    # -- the worker's transitions ----------------------------------------------------------------

    def claim_next(self) -> JobRecord | None:
        """Atomically move the oldest queued job to running (and count the attempt)."""
        with self._transaction() as db:
            row = db.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, "
                       "progress = 0, message = 'started' WHERE id = ?", (time.time(), row["id"]))
        return self._published(row["id"])

    def set_progress(self, job_id: str, progress: float, message: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET progress = ?, message = ? WHERE id = ? AND state = 'running'",
                       (progress, message, job_id))
        self.events.publish(job_id, "running", progress, message)

    def finish(self, job_id: str, state: JobState, *, message: str, outcome: Mapping[str, Any] | None = None,
               error: str | None = None, error_type: str | None = None,
               writeback: Mapping[str, Any] | None = None) -> JobRecord:
        """End a running job; the terminal state, result and error are written in one commit."""
        progress_sql = "1.0" if state == "done" else "progress"
        with self._transaction() as db:
            db.execute(f"UPDATE jobs SET state = ?, progress = {progress_sql}, message = ?, outcome = ?, "
                       "error = ?, error_type = ?, writeback = ?, finished_at = ? WHERE id = ?",
                       (state, message, _dumps(outcome), error, error_type, _dumps(writeback), time.time(), job_id))
        return self._published(job_id)

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job that has not started; ``False`` when it is no longer queued."""
        with self._transaction() as db:
            changed = db.execute("UPDATE jobs SET state = 'cancelled', message = 'cancelled before it started', "
                                 "finished_at = ? WHERE id = ? AND state = 'queued'",
                                 (time.time(), job_id)).rowcount
        if changed:
            self._published(job_id)
        return bool(changed)

    def recover_interrupted(self, *, max_attempts: int) -> list[JobRecord]:
        """After a crash: jobs left ``running`` run again, unless they already crashed us too often."""
        with self._transaction() as db:
            rows = db.execute("SELECT id, attempts FROM jobs WHERE state = 'running'").fetchall()
            for row in rows:
                if row["attempts"] >= max_attempts:
                    db.execute("UPDATE jobs SET state = 'failed', error = ?, error_type = 'InterruptedJob', "
                               "message = 'interrupted too often', finished_at = ? WHERE id = ?",
                               (f"the daemon stopped during this job {row['attempts']} times; giving up",
                                time.time(), row["id"]))
                else:
                    db.execute("UPDATE jobs SET state = 'queued', message = 'interrupted; queued again' "
                               "WHERE id = ?", (row["id"],))
        return [self._published(row["id"]) for row in rows]

    # -- hot-folder bookkeeping ------------------------------------------------------------------

    def hot_entry(self, source: Path) -> HotEntry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM hot_files WHERE path = ? AND filed = 0",
                                   (str(source),)).fetchone()
        return _hot(row) if row else None

    def hot_entry_for_job(self, job_id: str) -> HotEntry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM hot_files WHERE job_id = ? AND filed = 0", (job_id,)).fetchone()
        return _hot(row) if row else None

    def unfiled_hot_entries(self) -> list[HotEntry]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM hot_files WHERE filed = 0").fetchall()
        return [_hot(row) for row in rows]

    def set_hot_destination(self, job_id: str, dest_dir: Path) -> None:
        """Remember where a job's files go before moving them, so a crash mid-move resumes the same way."""
        with self._transaction() as db:
            db.execute("UPDATE hot_files SET dest_dir = ? WHERE job_id = ? AND filed = 0", (str(dest_dir), job_id))

    def mark_filed(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE hot_files SET filed = 1 WHERE job_id = ?", (job_id,))

    # -- helpers ---------------------------------------------------------------------------------

    def _insert(self, db: sqlite3.Connection, job_id: str, spec: Mapping[str, Any], *, origin: str,
                reaper: Mapping[str, Any] | None) -> None:
        db.execute("INSERT INTO jobs (id, kind, state, message, spec, origin, reaper, created_at) "
                   "VALUES (?, ?, 'queued', 'queued', ?, ?, ?, ?)",
                   (job_id, spec["kind"], json.dumps(dict(spec)), origin, _dumps(reaper), time.time()))

    def _published(self, job_id: str) -> JobRecord:
        record = self.get(job_id)
        if record is None:  # only possible if someone deleted the row underneath us
            raise KeyError(job_id)
        self.events.publish(record.id, record.state, record.progress, record.message)
        return record


def _dumps(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(dict(value), default=str)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(id=row["id"], kind=row["kind"], state=row["state"], progress=row["progress"],
                     message=row["message"], spec=json.loads(row["spec"]), origin=row["origin"],
                     reaper=_loads(row["reaper"]), outcome=_loads(row["outcome"]), error=row["error"],
                     error_type=row["error_type"], writeback=_loads(row["writeback"]), attempts=row["attempts"],
                     created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"])


def _hot(row: sqlite3.Row) -> HotEntry:
    return HotEntry(path=Path(row["path"]), job_id=row["job_id"], preset=row["preset"],
                    dest_dir=Path(row["dest_dir"]) if row["dest_dir"] else None)
