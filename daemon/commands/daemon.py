"""``reamend daemon [--detach] [--preload]`` and ``reamend daemon stop [--force]``."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import Any

from daemon.console import CliContext
from models.errors import ServiceUnavailableError

START_TIMEOUT_S = 60.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "daemon", help="run the background service (warm models, job queue, hot folder, local API)",
        description="Run the daemon in the foreground (Ctrl-C drains running jobs; press again to stop at "
                    "once), or in the background with --detach. 'reamend daemon stop' stops it.")
    parser.add_argument("action", nargs="?", choices=("stop",), help="stop the running daemon")
    parser.add_argument("--detach", action="store_true", help="start in the background and return")
    parser.add_argument("--preload", action="store_true", help="load every model at start, not on first use")
    parser.add_argument("--force", action="store_true", help="with stop: do not wait for running jobs")
    parser.add_argument("--timeout-s", type=float, default=300.0,
                        help="with stop: how long to wait for running jobs to finish (default 300)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.action == "stop":
        return _stop(args, ctx)
    if args.detach:
        return _detach(args, ctx)
    from daemon.service import ServiceOptions, serve

    return serve(ctx.settings, ServiceOptions(preload=args.preload), log_to_terminal=not ctx.quiet)


def _detach(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.client import DaemonClient, read_api_file

    settings = ctx.settings
    if DaemonClient.from_settings(settings) is not None:
        info = read_api_file(settings.api_file)
        ctx.emit({"running": True, "started": False, "pid": info.pid if info else None},
                 lambda: ctx.out.print(f"the daemon is already running (pid {info.pid if info else '?'})"))
        return 0
    command = [sys.executable, "-m", "daemon.cli", "--quiet", "--home", str(settings.home)]
    if args.config is not None:
        command += ["--config", str(args.config)]
    if args.device is not None:
        command += ["--device", args.device]
    command += ["daemon", *(["--preload"] if args.preload else [])]
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    stderr_log = settings.log_dir / "daemon.stderr.log"
    with open(stderr_log, "ab") as stderr:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                   close_fds=True, **_detached_flags())
    client = _wait_until_ready(settings, process, stderr_log)
    data = {"running": True, "started": True, "pid": process.pid, "port": client.port,
            "log": str(settings.log_dir / "daemon.log")}
    ctx.emit(data, lambda: ctx.out.print(f"reamend daemon started: pid {process.pid}, port {client.port}, "
                                         f"log {data['log']}"))
    return 0


def _detached_flags() -> dict[str, Any]:
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
        return {"creationflags": flags}
    return {"start_new_session": True}


def _wait_until_ready(settings: Any, process: subprocess.Popen[bytes], stderr_log: Any) -> Any:
    from daemon.client import DaemonClient, read_api_file

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = stderr_log.read_text(errors="replace")[-2000:].strip()
            raise ServiceUnavailableError(f"the daemon exited during start-up (code {process.returncode}):\n{tail}")
        info = read_api_file(settings.api_file)
        if info is not None and info.pid == process.pid:
            client = DaemonClient(port=info.port, token=info.token, pid=info.pid)
            client.health()
            return client
        time.sleep(0.1)
    raise ServiceUnavailableError(f"the daemon did not become ready within {START_TIMEOUT_S:.0f} s; "
                                  f"see {settings.log_dir / 'daemon.log'}")


def _stop(args: argparse.Namespace, ctx: CliContext) -> int:
    import psutil

    from daemon.client import DaemonClient

    client = DaemonClient.from_settings(ctx.settings)
    if client is None or client.pid is None:
        ctx.emit({"running": False, "stopped": False}, lambda: ctx.out.print("the daemon is not running"))
        return 0
    pid = client.pid
    try:
        health = client.health()
        running = int(health["queue"]["running"])
        client.shutdown(force=args.force)
    except ServiceUnavailableError:
        running = 0
        os.kill(pid, signal.SIGTERM)  # the API is gone but the process is alive: ask the OS to stop it
    if running and not args.force:
        ctx.info(f"waiting for {running} running job(s) to finish (Ctrl-C leaves the daemon draining)...")
    try:
        psutil.Process(pid).wait(timeout=args.timeout_s)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        ctx.err.print(f"the daemon (pid {pid}) is still finishing jobs after {args.timeout_s:.0f} s; "
                      "use 'reamend daemon stop --force' to stop at once")
        return 1
    ctx.emit({"running": False, "stopped": True, "pid": pid},
             lambda: ctx.out.print(f"reamend daemon stopped (pid {pid})"))
    return 0
