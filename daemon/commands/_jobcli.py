"""What every job command shares: run a :class:`JobSpec` with a progress bar and print the outcome."""

from __future__ import annotations

import time
from pathlib import Path

from daemon.console import CliContext, make_table
from daemon.jobs.base import JobContext, JobOutcome, JobSpec, run_job
from models.errors import UserInputError


def existing_inputs(paths: list[Path]) -> tuple[Path, ...]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UserInputError(f"input file(s) not found: {', '.join(missing)}")
    return tuple(p.resolve() for p in paths)


def execute(spec: JobSpec, ctx: CliContext, *, title: str) -> JobOutcome:
    """Run a job in this process and print what it wrote (or its JSON with ``--json``)."""
    started = time.perf_counter()
    with ctx.progress(title) as progress:
        job_ctx = JobContext(progress=progress, device=ctx.settings.device,
                             user_presets_dir=ctx.settings.user_presets_dir)
        outcome = run_job(spec, job_ctx)
    elapsed = time.perf_counter() - started
    payload = {**outcome.to_json(), "elapsed_s": round(elapsed, 3)}

    def render() -> None:
        for message in outcome.messages:
            ctx.err.print(f"[yellow]note:[/] {message}")
        ctx.out.print(make_table(f"{title}: done in {elapsed:.2f} s", ("role", "file"),
                                 [(o.role, str(o.path)) for o in outcome.outputs]))
        if outcome.summary:
            ctx.out.print(make_table(None, ("summary", "value"), list(outcome.summary.items())))

    ctx.emit(payload, render)
    return outcome
