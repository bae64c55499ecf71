"""``reamend demo``: the README's first command runs every job on the bundled examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.commands.demo import EXAMPLES_DIR, STEPS


def test_examples_are_small_and_present() -> None:
    for step in STEPS:
        example = EXAMPLES_DIR / step.example
        assert example.is_file(), example
        assert example.stat().st_size < 1_000_000


def test_demo_runs_every_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "demo", "--out", str(tmp_path)]) == 0
    payload = json.loads(capsys.readouterr().out)
    results = {r["job"]: r for r in payload["results"]}
    assert set(results) == {"inpaint", "clean", "transcribe"}
    for job, result in results.items():
        assert result["status"] == "ok", result
        assert result["headline"], job
        for output in result["outputs"]:
            assert (tmp_path / output).stat().st_size > 0
    assert results["inpaint"]["summary"]["gaps"] >= 1
    assert results["clean"]["summary"]["removed_s"] > 0
    assert results["transcribe"]["summary"]["notes"] > 0
    names = {Path(o).name for r in results.values() for o in r["outputs"]}
    assert {"piano-dropouts.inpainted.flac", "podcast.cleaned.flac", "podcast.edits.json", "piano.mid"} <= names
