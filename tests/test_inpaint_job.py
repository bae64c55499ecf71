"""The inpaint job and CLI: exact output files, bad input handled, input never changed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from daemon.cli import main
from daemon.jobs.base import JobContext, JobSpec, run_job
from models.errors import AudioFileError, UserInputError

SR = 22050
ROOT = Path(__file__).resolve().parent.parent


def chord(seconds: float = 4.0, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate((196.0, 247.0, 294.0, 392.0)))
    x = 0.25 * x * (1.0 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    return np.stack([x * (0.8 + 0.2 * c) for c in range(channels)], axis=1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("name", "subtype", "dtype"), [
    ("in16.wav", "PCM_16", "int32"), ("in24.flac", "PCM_24", "int32"), ("inf.wav", "FLOAT", "float32"),
])
def test_output_is_bit_identical_outside_gaps(tmp_path: Path, name: str, subtype: str, dtype: str) -> None:
    source = tmp_path / name
    sf.write(source, chord(), SR, subtype=subtype)
    before = digest(source)
    spec = JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp_path / "out",
                   options={"gaps": [{"start_s": 1.0, "end_s": 1.03}, {"start_s": 2.0, "end_s": 2.01}]})
    outcome = run_job(spec, JobContext())
    assert digest(source) == before
    (audio,) = outcome.paths("audio")
    assert audio.name == f"{source.stem}.inpainted{source.suffix}"
    info_in, info_out = sf.info(source), sf.info(audio)
    assert (info_out.samplerate, info_out.channels, info_out.frames, info_out.subtype) == (
        info_in.samplerate, info_in.channels, info_in.frames, info_in.subtype)
    original, _ = sf.read(source, dtype=dtype, always_2d=True)
    result, _ = sf.read(audio, dtype=dtype, always_2d=True)
    outside = np.ones(len(original), dtype=bool)
    outside[round(1.0 * SR) : round(1.03 * SR)] = False  # gap edges round to the nearest sample
    outside[round(2.0 * SR) : round(2.01 * SR)] = False
    assert np.array_equal(original[outside], result[outside])
    assert not np.array_equal(original[~outside], np.zeros_like(original[~outside]))
    gaps = json.loads(outcome.paths("gaps")[0].read_text())
    assert [g["method"] for g in gaps["gaps"]] == ["janssen", "janssen"] and gaps["sample_rate"] == SR


def test_detect_fills_digital_dropouts_and_reports(tmp_path: Path) -> None:
    audio = chord()
    audio[30000:30300, :] = 0.0
    source = tmp_path / "drop.wav"
    sf.write(source, audio, SR, subtype="PCM_16")
    spec = JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp_path, preset="dropouts-digital",
                   options={"report": True})
    outcome = run_job(spec, JobContext())
    gaps = json.loads(outcome.paths("gaps")[0].read_text())["gaps"]
    assert [(round(g["start_s"] * SR), round(g["end_s"] * SR), g["kind"]) for g in gaps] == [
        (30000, 30300, "digital_zeros")]
    filled, _ = sf.read(outcome.paths("audio")[0], always_2d=True)
    reference = chord()
    err = filled[30000:30300] - reference[30000:30300]
    assert 10 * np.log10(np.sum(reference[30000:30300] ** 2) / np.sum(err**2)) > 15
    assert outcome.paths("report")[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_long_gap_uses_a_long_gap_method(tmp_path: Path) -> None:
    source = tmp_path / "long.wav"
    sf.write(source, chord(seconds=6.0, channels=1), SR, subtype="PCM_16")
    spec = JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp_path, options={"gaps": [{"start_s": 3, "end_s": 3.4}]})
    outcome = run_job(spec, JobContext())
    (gap,) = json.loads(outcome.paths("gaps")[0].read_text())["gaps"]
    assert gap["method"] in {"model", "similarity", "janssen"}
    filled, _ = sf.read(outcome.paths("audio")[0])
    assert np.sqrt(np.mean(filled[int(3.05 * SR) : int(3.35 * SR)] ** 2)) > 0.05


def test_bad_gap_lists_give_messages_not_crashes(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    sf.write(source, chord(seconds=2.0), SR, subtype="PCM_16")
    spec = JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp_path, options={
        "gaps": [{"start_s": -0.1, "end_s": 0.02}, {"start_s": 0.5, "end_s": 0.6}, {"start_s": 0.55, "end_s": 0.62},
                 {"start_s": 30.0, "end_s": 31.0}]})
    outcome = run_job(spec, JobContext())
    text = " ".join(outcome.messages)
    assert "outside the file" in text and "clipped" in text and "merged" in text
    assert outcome.summary["gaps"] == 2
    with pytest.raises(UserInputError):
        run_job(JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp_path), JobContext())


def test_unreadable_input_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio")
    spec = JobSpec(kind="inpaint", inputs=(fake,), out_dir=tmp_path, options={"gaps": [{"start_s": 0, "end_s": 1}]})
    with pytest.raises(AudioFileError):
        run_job(spec, JobContext())
    assert fake.read_text() == "this is not audio"


def test_cli_gap_flags_json_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "take.wav"
    sf.write(source, chord(seconds=2.0), SR, subtype="PCM_24")
    out = tmp_path / "fixed.wav"
    assert main(["--json", "inpaint", str(source), "--gap", "0.5-0.52", "--gap", "1.0-1.01", "--out", str(out)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {o["role"] for o in payload["outputs"]} == {"audio", "gaps"} and out.exists()
    gaps_file = tmp_path / "gaps.json"
    gaps_file.write_text(json.dumps([{"start_s": 0.7, "end_s": 0.71}]))
    assert main(["inpaint", str(source), "--gaps", str(gaps_file), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "take.inpainted.wav").exists()
    assert main(["inpaint", str(source), "--gap", "0.9-0.2"]) == 2
    assert main(["inpaint", str(tmp_path / "missing.wav"), "--detect"]) == 2
    assert main(["inpaint", str(source), "--gap", "0.5-0.6", "--preset", "no-such"]) == 4
    assert "Traceback" not in capsys.readouterr().err


def test_builtin_inpaint_presets_validate() -> None:
    from daemon.presets import load_preset_file

    names = set()
    for path in (ROOT / "presets").glob("*.toml"):
        preset = load_preset_file(path, builtin=True)
        if preset.job == "inpaint":
            names.add(preset.name)
    assert {"vhs-piano", "dropouts-digital", "manual-gap"} <= names


def test_lossy_input_becomes_exact_float_wav(tmp_path: Path) -> None:
    source = tmp_path / "take.ogg"
    sf.write(source, chord(seconds=2.0, channels=1), SR, format="OGG", subtype="VORBIS")
    gaps = [{"start_s": 1, "end_s": 1.02}]
    outcome = run_job(JobSpec(kind="inpaint", inputs=(source,), out_dir=tmp_path, options={"gaps": gaps}), JobContext())
    (audio,) = outcome.paths("audio")
    assert audio.name == "take.inpainted.wav" and sf.info(audio).subtype == "FLOAT"
    decoded, _ = sf.read(source, dtype="float32")
    result, _ = sf.read(audio, dtype="float32")
    outside = np.ones(len(decoded), dtype=bool)
    outside[SR : round(1.02 * SR)] = False
    assert np.array_equal(decoded[outside], result[outside]) and "lossy" in " ".join(outcome.messages)
