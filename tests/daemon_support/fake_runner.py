"""A trivial job runner for daemon tests: copies each input, with controllable delay and faults.

It behaves like a real runner where the daemon can tell: it reads the input,
reports progress (where cancellation bites), writes its outputs atomically
(``<stem>.copy<ext>`` and ``<stem>.edits.json``) and raises the library's
errors. Options (from the job spec, or ``REAMEND_TEST_*`` environment defaults):
``delay_s`` (work time, half of it with the output file half-written),
``enospc`` (fail like a full disk). Inputs starting with ``CORRUPT`` are
rejected as corrupt; inputs with no read permission bits are rejected as
unreadable even for root (tests run as root here). Every start and end is
appended to ``$REAMEND_HOME/runner.log`` so tests can count executions.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
from pathlib import Path

from daemon.jobs.base import JobContext, JobOutcome, JobRunner, JobSpec, OutputFile
from models.atomic import atomic_path, write_text_atomic
from models.errors import AudioFileError

_STEP_S = 0.02


def lookup(kind: str) -> JobRunner:
    return run


def run(spec: JobSpec, ctx: JobContext) -> JobOutcome:
    delay_s = float(spec.options.get("delay_s", os.environ.get("REAMEND_TEST_DELAY_S", 0.0)))
    outputs: list[OutputFile] = []
    for index, source in enumerate(spec.inputs):
        _log("start", source)
        data = _read(source)
        if spec.options.get("enospc") or "enospc" in source.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(spec.out_dir / source.name))
        target = spec.out_dir / f"{source.stem}.copy{source.suffix}"
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            _work(ctx, delay_s, index, len(spec.inputs))
            handle.write(data[len(data) // 2:])
        edits = spec.out_dir / f"{source.stem}.edits.json"
        write_text_atomic(edits, json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}))
        outputs += [OutputFile("audio", target, source), OutputFile("edits", edits, source)]
        _log("end", source)
    ctx.progress(1.0, "done")
    return JobOutcome(outputs=tuple(outputs), summary={"files": len(spec.inputs)})


def _read(source: Path) -> bytes:
    try:
        if source.stat().st_mode & 0o444 == 0:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(source))
        data = source.read_bytes()
    except FileNotFoundError as exc:
        raise AudioFileError(f"input file not found: {source}") from exc
    except PermissionError as exc:
        raise AudioFileError(f"cannot read {source}: permission denied") from exc
    if data.startswith(b"CORRUPT"):
        raise AudioFileError(f"{source.name}: not a valid audio file (corrupt header)")
    return data


def _work(ctx: JobContext, delay_s: float, index: int, count: int) -> None:
    deadline = time.monotonic() + delay_s
    while True:
        remaining = deadline - time.monotonic()
        done = 1.0 - remaining / delay_s if delay_s > 0 else 1.0
        ctx.progress((index + min(max(done, 0.0), 1.0)) / count, "copying")
        if remaining <= 0:
            return
        time.sleep(min(_STEP_S, remaining))


def _log(event: str, source: Path) -> None:
    home = os.environ.get("REAMEND_HOME")
    if home:
        with open(Path(home) / "runner.log", "a", encoding="utf-8") as handle:
            handle.write(f"{event} {source}\n")
