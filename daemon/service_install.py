"""Run the daemon at login: a systemd user unit (Linux), a launchd agent (macOS), steps for Windows.

``python -m daemon.service_install [--uninstall] [--dry-run]``; ``install.py --service``
calls it. The service runs ``<this python> -m daemon.cli daemon`` so it uses the
same environment reamend was installed into, and restarts it only when it
crashed (a clean ``reamend daemon stop`` stays stopped until the next login).
"""

from __future__ import annotations

import argparse
import os
import plistlib
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

SERVICE_NAME = "reamend"
LAUNCHD_LABEL = "io.reamend.daemon"
Runner = Callable[[Sequence[str]], object]


@dataclass(frozen=True)
class ServicePlan:
    """What installing does on this platform: a file to write and commands to run (or manual steps)."""

    platform: str
    path: Path | None
    content: bytes | None
    commands: tuple[tuple[str, ...], ...]
    steps: tuple[str, ...] = ()


def daemon_command(python: str = sys.executable) -> list[str]:
    return [python, "-m", "daemon.cli", "daemon"]


def _passed_environment() -> dict[str, str]:
    """Settings given by environment at install time must also reach the service."""
    return {k: v for k, v in os.environ.items() if k.startswith("REAMEND_")}


def systemd_unit(command: Sequence[str], *, workdir: Path, env: dict[str, str]) -> str:
    lines = ["[Unit]", "Description=reamend daemon (ML audio restoration: warm models, job queue, hot folder)",
             "After=default.target", "", "[Service]", "Type=simple",
             f"ExecStart={' '.join(shlex.quote(part) for part in command)}", f"WorkingDirectory={workdir}",
             *(f'Environment="{key}={value}"' for key, value in sorted(env.items())),
             "Restart=on-failure", "RestartSec=5",
             # SIGTERM drains running jobs; give long jobs time before systemd escalates to SIGKILL.
             "TimeoutStopSec=300", "KillSignal=SIGTERM", "", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def launchd_plist(command: Sequence[str], *, workdir: Path, env: dict[str, str], log_dir: Path) -> bytes:
    agent = {"Label": LAUNCHD_LABEL, "ProgramArguments": list(command), "WorkingDirectory": str(workdir),
             "RunAtLoad": True, "KeepAlive": {"SuccessfulExit": False}, "ProcessType": "Interactive",
             "ExitTimeOut": 300, "EnvironmentVariables": env,
             "StandardOutPath": str(log_dir / "launchd.out.log"), "StandardErrorPath": str(log_dir / "launchd.err.log")}
    return plistlib.dumps(agent)


def windows_steps(command: Sequence[str]) -> tuple[str, ...]:
    line = subprocess.list2cmdline(list(command))
    return ("Windows has no per-user service manager that reamend configures for you. To start the daemon "
            "at login, create a scheduled task:",
            f'  schtasks /Create /SC ONLOGON /RL LIMITED /TN "reamend daemon" /TR "{line}"',
            'Start it now with:  schtasks /Run /TN "reamend daemon"',
            "Stop it with:  reamend daemon stop      Remove it with:  schtasks /Delete /TN \"reamend daemon\" /F",
            "Or simply run 'reamend daemon --detach' when you need it.")


def plan(*, uninstall: bool, platform: str = sys.platform, home: Path | None = None,
         python: str = sys.executable) -> ServicePlan:
    home = home or Path.home()
    command = daemon_command(python)
    workdir = Path(__file__).resolve().parent.parent
    env = _passed_environment()
    if platform.startswith("linux"):
        unit = home / ".config" / "systemd" / "user" / f"{SERVICE_NAME}.service"
        if uninstall:
            return ServicePlan("linux", unit, None, (
                ("systemctl", "--user", "disable", "--now", f"{SERVICE_NAME}.service"),
                ("systemctl", "--user", "daemon-reload")))
        return ServicePlan("linux", unit, systemd_unit(command, workdir=workdir, env=env).encode(), (
            ("systemctl", "--user", "daemon-reload"),
            ("systemctl", "--user", "enable", "--now", f"{SERVICE_NAME}.service")))
    if platform == "darwin":
        agent = home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        domain = f"gui/{os.getuid()}"
        if uninstall:
            return ServicePlan("macos", agent, None, (("launchctl", "bootout", f"{domain}/{LAUNCHD_LABEL}"),))
        log_dir = home / "Library" / "Logs" / "reamend"
        return ServicePlan("macos", agent, launchd_plist(command, workdir=workdir, env=env, log_dir=log_dir),
                           (("launchctl", "bootstrap", domain, str(agent)),))
    return ServicePlan("windows", None, None, (), windows_steps(command))


def apply(service: ServicePlan, *, uninstall: bool, run: Runner, echo: Callable[[str], None]) -> int:
    if service.steps:
        for step in service.steps:
            echo(step)
        return 0
    assert service.path is not None
    if uninstall:
        for command in service.commands:
            _run_tolerant(command, run, echo)
        if service.path.exists():
            service.path.unlink()
        echo(f"removed {service.path}")
        return 0
    service.path.parent.mkdir(parents=True, exist_ok=True)
    if service.content is not None:
        service.path.write_bytes(service.content)
    echo(f"wrote {service.path}")
    for command in service.commands:
        echo(f"$ {' '.join(command)}")
        run(command)
    echo("the reamend daemon now starts at login; check it with 'reamend status'")
    return 0


def _run_tolerant(command: Sequence[str], run: Runner, echo: Callable[[str], None]) -> None:
    """Uninstalling something half-installed must still clean up what is there."""
    echo(f"$ {' '.join(command)}")
    try:
        run(command)
    except (OSError, subprocess.CalledProcessError) as exc:
        echo(f"  (ignored: {exc})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.service_install",
                                     description="Start the reamend daemon at login (or stop doing so).")
    parser.add_argument("--uninstall", action="store_true", help="disable and remove the service")
    parser.add_argument("--dry-run", action="store_true", help="print what would be written and run")
    args = parser.parse_args(argv)
    service = plan(uninstall=args.uninstall)
    if args.dry_run:
        if service.path is not None:
            print(f"# {service.path}")
        if service.content is not None:
            print(service.content.decode())
        for command in service.commands:
            print("$ " + " ".join(command))
        for step in service.steps:
            print(step)
        return 0
    try:
        return apply(service, uninstall=args.uninstall,
                     run=lambda command: subprocess.run(list(command), check=True), echo=print)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
