"""The REAPER-side installer: finds the resource folder, edits REAPER's files with backups, undoes it all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.reaper import install as inst
from daemon.settings import load_settings
from tests.reaper_standin.harness import REPO_ROOT, Standin, free_port

USER_KB = 'KEY 1 65 40001 0\nSCR 4 0 RSuser0001 "Custom: my own script.lua" "my_script.lua"\n'
USER_INI = "[REAPER]\nreascript=0\nlastproject=/home/me/show.RPP\ncsurf_cnt=1\ncsurf_0=OSC 0 9000\n"
REAPY_EXTSTATE = '[reapy]\nactivate_reapy_server="_RSreapysown"\n[other]\nkey=value\n'


@pytest.fixture
def resource(tmp_path: Path) -> Path:
    folder = tmp_path / "REAPER"
    folder.mkdir()
    (folder / "reaper.ini").write_text(USER_INI)
    (folder / "reaper-extstate.ini").write_text(REAPY_EXTSTATE)
    return folder


def test_install_registers_actions_enables_python_and_points_reapy_at_our_server(resource: Path) -> None:
    report = inst.install(resource, load_settings())
    scripts = resource / "Scripts" / "reamend"
    names = sorted(p.name for p in scripts.glob("*.py"))
    assert "reamend_common.py" in names and "reamend_reapy_server.py" in names and len(names) == 8
    config = json.loads((scripts / "reamend_reaper.json").read_text())
    assert config["home"] == str(load_settings().home) and config["server_port"] == 2306
    kb = (resource / "reaper-kb.ini").read_text().splitlines()
    actions = [line for line in kb if line.startswith("SCR 4 0 RS")]
    assert len(actions) == 7 and any('"reamend: Inpaint time selection on selected items"' in a for a in actions)
    ini = (resource / "reaper.ini").read_text()
    assert "reascript=1" in ini and "lastproject=/home/me/show.RPP" in ini and "csurf_cnt=2" in ini
    assert "csurf_1=HTTP 0 2307 '' 'index.html' 0 ''" in ini
    extstate = (resource / "reaper-extstate.ini").read_text()
    server_id = inst.command_id("reamend/reamend_reapy_server.py")
    assert f'activate_reapy_server="_{server_id}"' in extstate and "key=value" in extstate
    explained = "\n".join(report.changes)
    assert "enables Python" in explained and "instead of reapy's own" in explained
    assert (resource / "reamend-backup" / "reaper.ini").read_text() == USER_INI
    # Installing again changes nothing and keeps the first backups.
    again = inst.install(resource, load_settings())
    assert [c for c in again.changes if "copied" not in c] == []
    assert (resource / "reaper-kb.ini").read_text().count("SCR 4 0 RS") == 7


def test_uninstall_restores_every_file_exactly(resource: Path) -> None:
    inst.install(resource, load_settings())
    inst.uninstall(resource)
    assert (resource / "reaper.ini").read_text() == USER_INI
    assert (resource / "reaper-extstate.ini").read_text() == REAPY_EXTSTATE
    assert not (resource / "reaper-kb.ini").exists()  # it did not exist before
    assert not (resource / "Scripts" / "reamend").exists() and not (resource / "reamend-backup").exists()


def test_uninstall_after_user_changes_removes_only_our_lines(resource: Path) -> None:
    (resource / "reaper-kb.ini").write_text(USER_KB)
    inst.install(resource, load_settings())
    with open(resource / "reaper-kb.ini", "a") as kb:
        kb.write('KEY 1 66 40002 0\n')  # a shortcut the user added after installing
    ini = (resource / "reaper.ini").read_text().replace("lastproject=/home/me/show.RPP", "lastproject=/new.RPP")
    (resource / "reaper.ini").write_text(ini)
    report = inst.uninstall(resource)
    assert (resource / "reaper-kb.ini").read_text() == USER_KB + "KEY 1 66 40002 0\n"
    restored_ini = (resource / "reaper.ini").read_text()
    assert "reascript=0" in restored_ini and "lastproject=/new.RPP" in restored_ini
    assert "HTTP 0 2307" not in restored_ini and "csurf_cnt=1" in restored_ini
    assert any("removed only reamend's lines" in c for c in report.changes)


def test_resource_folder_is_found_or_the_user_is_told_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(SystemExit, match="--reaper-path"):
        inst.find_resource_path(None)
    (tmp_path / "REAPER").mkdir()
    (tmp_path / "REAPER" / "reaper.ini").write_text("[REAPER]\n")
    assert inst.find_resource_path(None) == tmp_path / "REAPER"
    portable = tmp_path / "portable"
    portable.mkdir()
    assert inst.find_resource_path(portable) == portable


def test_installer_command_line_round_trip(resource: Path) -> None:
    run = [sys.executable, "-m", "daemon.reaper.install", "--reaper-path", str(resource)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert done.returncode == 0 and "reamend-backup" in done.stdout and "enables Python" in done.stdout
    undone = subprocess.run([*run, "--uninstall"], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert undone.returncode == 0 and (resource / "reaper.ini").read_text() == USER_INI


def test_stand_in_also_runs_reapys_own_server_script(tmp_path: Path) -> None:
    """Fidelity check: reapy's unmodified activate_reapy_server.py runs in the stand-in and serves reapy."""
    import importlib.util

    spec = importlib.util.find_spec("reapy")  # the package is located, not imported (its import connects)
    assert spec is not None and spec.submodule_search_locations
    script = Path(spec.submodule_search_locations[0]) / "reascripts" / "activate_reapy_server.py"
    web, server = free_port(), free_port()
    extra = ["--run", str(script), "--reapy-server-port", str(server)]
    standin = Standin(tmp_path, web_port=web).start(extra=extra)
    try:
        code = ("import warnings\nwith warnings.catch_warnings():\n warnings.simplefilter('ignore')\n import reapy\n"
                f"reapy.config.WEB_INTERFACE_PORT={web}\nreapy.reconnect()\n"
                "from reapy import reascript_api as RPR\nprint(RPR.GetAppVersion(), reapy.Project().n_tracks)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "7.0/standin 0", out.stderr
    finally:
        standin.stop()


def test_reapack_index_is_current_and_every_action_has_headers(tmp_path: Path) -> None:
    from daemon.reaper.reapack import DEFAULT_BASE_URL, build_index

    build_index(DEFAULT_BASE_URL).write(tmp_path / "index.xml", encoding="utf-8", xml_declaration=True)
    assert (tmp_path / "index.xml").read_text() == (REPO_ROOT / "reaper_scripts" / "index.xml").read_text(), \
        "run: python -m daemon.reaper.reapack"
    for script in inst.action_scripts():
        text = script.read_text()
        assert "# @version 0.1.0" in text and "# @author" in text and "# @about" in text
        assert inst.script_description(script).startswith("reamend: ")
