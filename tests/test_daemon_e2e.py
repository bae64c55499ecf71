"""End to end with the production daemon and a real job kind (inpaint, Janssen method: no weights needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.daemon_support.harness import DaemonProcess, wait_for

SR = 16_000


def _speechlike(path: Path, *, dropout: tuple[float, float] | None = None) -> None:
    t = np.arange(2 * SR) / SR
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(t))  # no accidental runs of digital zeros
    signal = 0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t) ** 2 + noise
    samples = (signal * 32767).astype(np.int16)
    if dropout is not None:
        samples[int(dropout[0] * SR):int(dropout[1] * SR)] = 0
    sf.write(path, samples, SR, subtype="PCM_16")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path_factory.mktemp("home"), module="daemon.service")
    process.start(timeout_s=60)
    yield process
    process.close()


def test_hot_folder_runs_a_real_preset(daemon: DaemonProcess, tmp_path: Path) -> None:
    folder = daemon.home / "hot" / "dropouts-digital"
    assert folder.is_dir()  # created at start for every preset
    source = tmp_path / "drop.wav"
    _speechlike(source, dropout=(0.5, 0.51))
    original = source.read_bytes()
    (folder / "drop.wav").write_bytes(original)
    report = folder / "done" / "drop.wav.job.json"
    wait_for(report.exists, timeout_s=60, what="the inpaint job to be filed")
    job = json.loads(report.read_text())
    assert job["state"] == "done" and job["kind"] == "inpaint" and job["summary"]["gaps"] == 1
    assert {o["file"] for o in job["outputs"]} == {"drop.inpainted.wav", "drop.gaps.json"}
    assert (folder / "done" / "drop.wav").read_bytes() == original
    filled, sr = sf.read(folder / "done" / "drop.inpainted.wav", dtype="int16")
    assert sr == SR and len(filled) == 2 * SR
    assert np.abs(filled[int(0.5 * SR):int(0.51 * SR)]).max() > 0  # the dropout was filled


def test_cli_gives_the_same_files_through_the_daemon_and_in_process(daemon: DaemonProcess, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    source = tmp_path / "talk.wav"
    _speechlike(source)
    monkeypatch.setenv("REAMEND_CONFIG", str(tmp_path / "no-config.toml"))
    results = {}
    for label, home in (("daemon", daemon.home), ("process", tmp_path / "idle-home")):
        argv = ["--home", str(home), "--json", "inpaint", str(source), "--gap", "0.5-0.55", "--method", "janssen",
                "--out", str(tmp_path / label)]
        assert main(argv) == 0
        results[label] = json.loads(capsys.readouterr().out)
        assert results[label]["ran_in"] == label
    names = {label: sorted(Path(o["path"]).name for o in data["outputs"]) for label, data in results.items()}
    assert names["daemon"] == names["process"] == ["talk.gaps.json", "talk.inpainted.wav"]
    assert (tmp_path / "daemon" / "talk.inpainted.wav").read_bytes() == \
        (tmp_path / "process" / "talk.inpainted.wav").read_bytes()
    assert results["daemon"]["summary"]["filled_by"] == results["process"]["summary"]["filled_by"]


def test_hot_folder_clean_loads_its_model_once_and_writes_the_cli_names(daemon: DaemonProcess,
                                                                        tmp_path: Path) -> None:
    folder = daemon.home / "hot" / "podcast-gentle"
    client = daemon.client
    assert client is not None
    for name in ("first.wav", "second.wav"):
        _speechlike(tmp_path / name)
        (folder / name).write_bytes((tmp_path / name).read_bytes())
    for name in ("first.wav", "second.wav"):
        wait_for((folder / "done" / f"{name}.job.json").exists, timeout_s=90, what=f"{name} to be cleaned")
    names = sorted(p.name for p in (folder / "done").iterdir())
    assert names == sorted(f"{stem}{suffix}" for stem in ("first", "second") for suffix in (
        ".wav", ".wav.job.json", ".cleaned.wav", ".edits.json", ".edits.csv", ".labels.txt"))
    assert (folder / "done" / "first.wav").read_bytes() == (tmp_path / "first.wav").read_bytes()
    health = client.health()
    assert "clean-framenet" in health["models_loaded"]
    assert health["models_loaded"].count("clean-framenet") == 1  # loaded once, kept warm for the second file
