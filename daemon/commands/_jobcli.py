"""What every job command shares: run a :class:`JobSpec` with a progress bar and print the outcome.

When the daemon runs, the job goes to it (its models are already warm) and the
command follows its progress; otherwise the job runs in this process. Either
way the same runner writes the same files and the same table is printed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table
from daemon.jobs.base import JobContext, JobOutcome, JobSpec, OutputFile, run_job
from models import errors
from models.errors import ReamendError, UserInputError


def existing_inputs(paths: list[Path]) -> tuple[Path, ...]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UserInputError(f"input file(s) not found: {', '.join(missing)}")
    return tuple(p.resolve() for p in paths)


def execute(spec: JobSpec, ctx: CliContext, *, title: str) -> JobOutcome:
    """Run a job (in the daemon if it runs, else here) and print what it wrote (or JSON with ``--json``)."""
    started = time.perf_counter()
    outcome = _run_in_daemon(spec, ctx, title=title)
    ran_in = "daemon"
    if outcome is None:
        ran_in = "process"
        with ctx.progress(title) as progress:
            job_ctx = JobContext(progress=progress, device=ctx.settings.device,
                                 user_presets_dir=ctx.settings.user_presets_dir)
            outcome = run_job(spec, job_ctx)
    elapsed = time.perf_counter() - started
    payload = {**outcome.to_json(), "elapsed_s": round(elapsed, 3), "ran_in": ran_in}
    final = outcome

    def render() -> None:
        for message in final.messages:
            ctx.err.print(f"[yellow]note:[/] {message}")
        ctx.out.print(make_table(f"{title}: done in {elapsed:.2f} s", ("role", "file"),
                                 [(o.role, str(o.path)) for o in final.outputs]))
        if final.summary:
            ctx.out.print(make_table(None, ("summary", "value"), list(final.summary.items())))

    ctx.emit(payload, render)
    return outcome


def _run_in_daemon(spec: JobSpec, ctx: CliContext, *, title: str) -> JobOutcome | None:
    """The outcome from the running daemon, or ``None`` when the job should run in this process."""
    from daemon.client import DaemonClient, DaemonRequestError
    from models.errors import ServiceUnavailableError

    client = DaemonClient.from_settings(ctx.settings)
    if client is None:
        return None
    try:
        job_id = client.submit(spec, origin="cli")
    except ServiceUnavailableError:
        return None  # it just stopped or crashed: in-process still works
    except DaemonRequestError as exc:
        if exc.status != 403:
            raise
        ctx.info(f"[yellow]note:[/] {exc}; running in this process instead")
        return None
    ctx.info(f"running in the reamend daemon (pid {client.pid}, job {job_id})")
    with ctx.progress(title) as progress:
        try:
            record = client.wait(job_id, progress=progress)
        except KeyboardInterrupt:
            with contextlib.suppress(ReamendError):
                client.cancel(job_id)
            raise
    return outcome_from_record(record)


def outcome_from_record(record: Mapping[str, Any]) -> JobOutcome:
    """A finished daemon job as the same :class:`JobOutcome` an in-process run returns, or its error."""
    if record["state"] == "cancelled":
        raise errors.CancelledError(f"job {record['id']} was cancelled")
    if record["state"] != "done":
        raise remote_error(record)
    data = record["outcome"] or {}
    outputs = tuple(OutputFile(role=o["role"], path=Path(o["path"]),
                               source=Path(o["source"]) if o.get("source") else None)
                    for o in data.get("outputs", []))
    return JobOutcome(outputs=outputs, summary=dict(data.get("summary", {})),
                      messages=tuple(data.get("messages", [])))


def remote_error(record: Mapping[str, Any]) -> ReamendError:
    """Re-create the daemon-side exception class, so the CLI exits with the same code as in-process."""
    message = str(record.get("error") or "the job failed")
    cls = getattr(errors, str(record.get("error_type") or ""), None)
    if isinstance(cls, type) and issubclass(cls, ReamendError):
        return cls(message)
    return ReamendError(message)
