"""The transcribe job end to end with the shipped model: golden example, bad inputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
import soundfile as sf

from daemon.jobs.base import JobContext, JobOutcome, JobSpec, run_job
from models.synth.compositions import performance_from_midi
from models.transcribe.evaluate import score

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: The shipped model scores 0.875 note onset F1 on the bundled example (held-out soundfont and piece).
GOLDEN_ONSET_F1 = 0.85


def _run(path: Path, out_dir: Path, **options: object) -> tuple[JobOutcome, dict[str, Any]]:
    outcome = run_job(JobSpec(kind="transcribe", inputs=(path,), out_dir=out_dir, options=options), JobContext())
    notes = json.loads(outcome.paths("notes")[0].read_text())
    return outcome, notes


def test_example_transcribes_close_to_its_ground_truth(tmp_path: Path) -> None:
    outcome, notes = _run(EXAMPLES / "piano.flac", tmp_path, report=True, musicxml=True)
    roles = {o.role for o in outcome.outputs}
    assert roles == {"midi", "notes", "musicxml", "report"}
    midi = mido.MidiFile(str(outcome.paths("midi")[0]))
    assert midi.type == 1 and midi.ticks_per_beat == 480
    truth = performance_from_midi(mido.MidiFile(str(EXAMPLES / "piano.mid"))).sounding_notes()
    reference = np.array([[n.pitch, n.start_s, n.end_s, n.velocity] for n in truth], dtype=float)
    estimated = np.array([[n["pitch"], n["start_s"], n["end_s"], n["velocity"]] for n in notes["notes"]],
                         dtype=float).reshape(-1, 4)
    assert score(reference, estimated).onset_f1 >= GOLDEN_ONSET_F1


def _write(path: Path, samples: np.ndarray, sr: int) -> Path:
    sf.write(str(path), samples, sr)
    return path


@pytest.mark.parametrize("case", ["silence", "short", "empty-ish"])
def test_silent_or_tiny_inputs_give_an_empty_midi_and_a_message(tmp_path: Path, case: str) -> None:
    samples = {"silence": np.zeros(44100 * 2), "short": 0.3 * np.sin(np.arange(200) / 3.0),
               "empty-ish": np.zeros(10)}[case]
    outcome, notes = _run(_write(tmp_path / f"{case}.wav", samples.astype(np.float32), 44100), tmp_path)
    assert notes["count"] == 0
    assert any("no notes" in m for m in outcome.messages)
    assert mido.MidiFile(str(outcome.paths("midi")[0])).type == 1


def test_stereo_8khz_piano_like_tone_is_transcribed_with_messages(tmp_path: Path) -> None:
    sr = 8000
    t = np.arange(int(sr * 2.0)) / sr
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 6)) * np.exp(-2 * t)
    tone[: sr // 2] = 0.0
    stereo = np.stack([tone, 0.8 * tone], axis=1).astype(np.float32) * 0.3
    outcome, notes = _run(_write(tmp_path / "tel.wav", stereo, sr), tmp_path)
    messages = " ".join(outcome.messages)
    assert "mixed 2 channels" in messages and "8000 Hz" in messages
    assert notes["duration_s"] == pytest.approx(2.0, abs=0.01)


def test_noise_does_not_crash_and_writes_valid_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noise = (0.2 * rng.standard_normal(22050 * 3)).astype(np.float32)
    outcome, notes = _run(_write(tmp_path / "noise.flac", noise, 22050), tmp_path)
    assert outcome.paths("midi")[0].exists()
    assert isinstance(notes["notes"], list)


def test_cli_writes_the_named_midi_file_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    target = tmp_path / "named.mid"
    code = main(["--json", "transcribe", str(EXAMPLES / "piano.flac"), "--out", str(target),
                 "--preset", "piano-tape"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert {o["role"] for o in payload["outputs"]} == {"midi", "notes"}
    assert target.exists() and (tmp_path / "named.notes.json").exists()
    assert payload["summary"]["notes"] > 10
