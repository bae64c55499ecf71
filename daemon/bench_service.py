"""Measure the daemon: cold start, warm per-job overhead, idle CPU.

``python -m daemon.bench_service [--jobs 20] [--idle-s 10] [--json]`` starts the
production daemon in a temporary ``REAMEND_HOME`` and drives it through the API
with a real job (inpaint, Janssen method, a 2 s clip: no model weights needed).

- cold start: process launch until ``/v1/health`` answers, and until the first
  job is done (imports of torch and the job's code happen then);
- warm overhead per job: client wall time from submit to the final record,
  minus the time the runner itself took (``finished_at - started_at`` recorded by
  the daemon), i.e. what queueing, the API, SQLite and the event long-poll cost;
- idle CPU: the daemon's CPU time over a quiet period, as a percentage of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from daemon.client import DaemonClient, read_api_file
from daemon.jobs.base import JobSpec

SR = 16_000


def _clip(path: Path) -> None:
    import numpy as np
    import soundfile as sf

    t = np.arange(2 * SR) / SR
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(t))
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) + noise).astype(np.float32), SR, subtype="PCM_16")


def _start(home: Path) -> tuple[subprocess.Popen[bytes], DaemonClient, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REAMEND_")}
    env.update({"REAMEND_HOME": str(home), "REAMEND_API_PORT": "0", "REAMEND_CONFIG": str(home / "none.toml")})
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "daemon.cli", "--quiet", "daemon"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the daemon exited with {process.returncode}; see {home / 'logs'}")
        info = read_api_file(home / "api.json")
        if info is not None and info.pid == process.pid:
            client = DaemonClient(port=info.port, token=info.token, pid=info.pid)
            client.health()
            return process, client, time.perf_counter() - started
        time.sleep(0.01)


def _timed_job(client: DaemonClient, spec: JobSpec) -> tuple[float, float]:
    """(client wall time submit -> final record, runner time inside the daemon)."""
    started = time.perf_counter()
    record = client.wait(client.submit(spec, origin="api"), timeout_s=300)
    wall_s = time.perf_counter() - started
    if record["state"] != "done":
        raise RuntimeError(f"benchmark job failed: {record['error']}")
    return wall_s, float(record["finished_at"]) - float(record["started_at"])


def _idle_cpu_percent(pid: int, seconds: float) -> float:
    import psutil

    process = psutil.Process(pid)
    before = process.cpu_times()
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / seconds


def run(*, jobs: int, idle_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reamend-bench-") as tmp:
        home = Path(tmp) / "home"
        clip = Path(tmp) / "clip.wav"
        _clip(clip)
        spec = JobSpec(kind="inpaint", inputs=(clip,), out_dir=Path(tmp) / "out",
                       options={"gaps": [{"start_s": 0.5, "end_s": 0.55}], "method": "janssen"})
        process, client, ready_s = _start(home)
        try:
            first_wall_s, first_compute_s = _timed_job(client, spec)
            timings = [_timed_job(client, spec) for _ in range(jobs)]
            overheads_s = sorted(wall - compute for wall, compute in timings)
            idle_percent = _idle_cpu_percent(process.pid, idle_s)
            health = client.health()
        finally:
            client.shutdown()
            process.wait(timeout=60)
    return {
        "cold_start_to_api_s": round(ready_s, 3),
        "first_job_wall_s": round(first_wall_s, 3), "first_job_compute_s": round(first_compute_s, 3),
        "warm_jobs": jobs,
        "warm_job_wall_median_s": round(statistics.median(w for w, _ in timings), 4),
        "warm_overhead_median_s": round(statistics.median(overheads_s), 4),
        "warm_overhead_p95_s": round(overheads_s[int(0.95 * (len(overheads_s) - 1))], 4),
        "warm_overhead_max_s": round(overheads_s[-1], 4),
        "idle_cpu_percent": round(idle_percent, 3), "idle_seconds": idle_s,
        "rss_mb": round(health["memory"]["rss_bytes"] / 1e6, 1), "device": health["device"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.bench_service", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="warm jobs to time (default 20)")
    parser.add_argument("--idle-s", type=float, default=10.0, help="idle period to measure CPU over (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    result = run(jobs=args.jobs, idle_s=args.idle_s)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    from rich.console import Console

    from daemon.console import mapping_table

    Console().print(mapping_table("reamend daemon benchmark", result))
    ok = result["warm_overhead_median_s"] < 0.3 and result["idle_cpu_percent"] < 1.0
    print("targets (overhead < 0.3 s, idle CPU < 1 %):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
