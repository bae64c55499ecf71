"""``reamend status``: is the daemon up, what it has loaded, its queue and recent jobs.

When the daemon is not running, the queue and recent jobs still come from the
job database, so users can see what will run at the next start.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table, mapping_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("status", help="daemon state: models, device, memory, queue, recent jobs")
    parser.add_argument("--limit", type=int, default=10, help="how many recent jobs to show (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    data = collect_status(ctx, limit=args.limit)
    ctx.emit(data, lambda: _render(ctx, data))
    return 0


def collect_status(ctx: CliContext, *, limit: int) -> dict[str, Any]:
    from daemon.client import DaemonClient
    from models.errors import ServiceUnavailableError

    client = DaemonClient.from_settings(ctx.settings)
    if client is not None:
        try:
            health = client.health()
            return {"running": True, "daemon": health, "recent_jobs": client.list(limit=limit)}
        except ServiceUnavailableError:
            pass
    return {"running": False, "daemon": None, "queue": _offline_counts(ctx), "recent_jobs": _offline_jobs(ctx, limit)}


def _offline_counts(ctx: CliContext) -> dict[str, int]:
    if not ctx.settings.db_path.exists():
        return {}
    from daemon.store import JobStore

    store = JobStore(ctx.settings.db_path)
    try:
        return store.counts()
    finally:
        store.close()


def _offline_jobs(ctx: CliContext, limit: int) -> list[dict[str, Any]]:
    if not ctx.settings.db_path.exists():
        return []
    from daemon.store import JobStore

    store = JobStore(ctx.settings.db_path)
    try:
        return [record.to_json() for record in store.list_jobs(limit=limit)]
    finally:
        store.close()


def _render(ctx: CliContext, data: dict[str, Any]) -> None:
    health = data["daemon"]
    if health is None:
        ctx.out.print("[yellow]daemon: not running[/] (start it with 'reamend daemon' or 'reamend daemon --detach')")
        counts = data.get("queue") or {}
        if counts:
            ctx.out.print(mapping_table("jobs in the database", counts))
    else:
        memory = health.get("memory") or {}
        models = ", ".join(f"{m['name']} ({m['device']})" for m in health.get("models", [])) or "none yet"
        rows = {"daemon": f"running, pid {health['pid']}, version {health['version']}",
                "uptime": _duration(float(health.get("uptime_s", 0.0))), "device": health["device"],
                "models loaded": models, "memory (RSS)": _megabytes(memory.get("rss_bytes")),
                "queue": f"{health['queue']['queued']} queued, {health['queue']['running']} running",
                "hot folders": ", ".join(sorted(health.get("hot_folders", {}))) or "none",
                "home": health.get("home", "")}
        if memory.get("cuda_allocated_bytes") is not None:
            rows["GPU memory"] = _megabytes(memory["cuda_allocated_bytes"])
        ctx.out.print(mapping_table("reamend daemon", rows))
    jobs = data["recent_jobs"]
    if jobs:
        ctx.out.print(make_table("recent jobs", ("id", "kind", "state", "progress", "origin", "input", "age", "detail"),
                                 [_job_row(job) for job in jobs]))


def _job_row(job: dict[str, Any]) -> tuple[str, ...]:
    inputs = job["spec"].get("inputs") or []
    name = Path(inputs[0]).name + (f" +{len(inputs) - 1}" if len(inputs) > 1 else "") if inputs else "-"
    colour = {"done": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}.get(job["state"], "white")
    detail = job.get("error") or job.get("message") or ""
    return (job["id"][:8], job["kind"], f"[{colour}]{job['state']}[/]", f"{100 * float(job['progress']):.0f}%",
            job["origin"], name, _duration(time.time() - float(job["created_at"])) + " ago", detail[:60])


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _megabytes(value: Any) -> str:
    return f"{int(value) / 1e6:.0f} MB" if value is not None else "-"
