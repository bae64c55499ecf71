"""CLI contract: exit codes, one-line errors without tracebacks, --json for scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("reamend ")


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: reamend" in capsys.readouterr().out


def test_bad_preset_file_exit_code_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('job = "dance"\n')
    assert main(["--json", "presets", "validate", str(bad)]) == 4
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False and "allowed values" in payload["files"][0]["error"]


def test_unknown_preset_name_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "show", "no-such-preset"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: no preset named 'no-such-preset'") and "Traceback" not in err


def test_json_error_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "presets", "show", "no-such-preset"]) == 4
    payload = json.loads(capsys.readouterr().out)
    assert payload["type"] == "PresetError" and payload["exit_code"] == 4


def test_presets_list_json_has_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "presets", "list"]) == 0
    names = {p["name"] for p in json.loads(capsys.readouterr().out)}
    assert names == {p.stem for p in (ROOT / "presets").glob("*.toml")}


def test_doctor_json_reports_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--json", "doctor"])
    payload = json.loads(capsys.readouterr().out)
    checks = {c["check"]: c for c in payload["checks"]}
    assert checks["python"]["status"] == "ok" and checks["torch"]["status"] == "ok"
    assert checks["bfloat16"]["status"] in ("ok", "warn")
    assert checks["device"]["detail"] == "cpu"
    # Training-only renderers are reported, never failed: a missing one is a warning with the fix.
    from models.synth.mda_piano import mda_available

    assert checks["renderer mda Piano"]["status"] == ("ok" if mda_available() else "warn")
    assert code == (0 if payload["ok"] else 1)


def test_bad_setting_in_environment_is_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REAMEND_WORKERS", "zero")
    assert main(["presets", "list"]) == 2
    assert "invalid settings" in capsys.readouterr().err


def test_entry_point_runs_as_a_process() -> None:
    result = subprocess.run([sys.executable, "-m", "daemon.cli", "--version"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("reamend ")
