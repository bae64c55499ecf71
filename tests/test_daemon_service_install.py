"""Start-at-login service files: systemd user unit, launchd agent, Windows steps."""

from __future__ import annotations

import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from daemon.service_install import LAUNCHD_LABEL, apply, plan
from tests.daemon_support.harness import REPO


def test_linux_writes_and_enables_a_systemd_user_unit(tmp_path: Path) -> None:
    service = plan(uninstall=False, platform="linux", home=tmp_path, python="/opt/py/bin/python")
    assert service.path == tmp_path / ".config" / "systemd" / "user" / "reamend.service"
    ran: list[Sequence[str]] = []
    assert apply(service, uninstall=False, run=ran.append, echo=lambda line: None) == 0
    unit = service.path.read_text()
    assert "ExecStart=/opt/py/bin/python -m daemon.cli daemon" in unit
    assert "Restart=on-failure" in unit and "WantedBy=default.target" in unit and "TimeoutStopSec=300" in unit
    assert [tuple(c) for c in ran] == [("systemctl", "--user", "daemon-reload"),
                                       ("systemctl", "--user", "enable", "--now", "reamend.service")]

    removal = plan(uninstall=True, platform="linux", home=tmp_path)
    ran.clear()
    assert apply(removal, uninstall=True, run=ran.append, echo=lambda line: None) == 0
    assert not service.path.exists()
    assert ("systemctl", "--user", "disable", "--now", "reamend.service") in [tuple(c) for c in ran]


def test_macos_writes_a_launchd_agent(tmp_path: Path) -> None:
    service = plan(uninstall=False, platform="darwin", home=tmp_path, python="/usr/local/bin/python3")
    assert service.path == tmp_path / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
    assert service.content is not None
    agent = plistlib.loads(service.content)
    assert agent["ProgramArguments"] == ["/usr/local/bin/python3", "-m", "daemon.cli", "daemon"]
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert service.commands[0][:2] == ("launchctl", "bootstrap")


def test_windows_prints_the_documented_steps() -> None:
    service = plan(uninstall=False, platform="win32", python=r"C:\reamend\python.exe")
    assert service.path is None and not service.commands
    lines: list[str] = []
    assert apply(service, uninstall=False, run=lambda command: None, echo=lines.append) == 0
    assert any("schtasks /Create /SC ONLOGON" in line and "daemon.cli daemon" in line for line in lines)


def test_module_entry_point_dry_run_changes_nothing(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "daemon.service_install", "--dry-run"], cwd=REPO,
                            capture_output=True, text=True, timeout=60, env={"HOME": str(tmp_path), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert "-m daemon.cli daemon" in result.stdout
    assert not any(tmp_path.iterdir())
