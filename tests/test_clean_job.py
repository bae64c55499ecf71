"""``reamend clean`` end to end with the shipped model: outputs, presets and bad inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from daemon.cli import main
from models.clean.edits import load_edits, map_time

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "podcast.flac"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _speechy(seconds: float, sr: int, *, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Bursts of harmonic, amplitude-modulated tone with pauses of several lengths and room noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    gate = np.zeros(n)
    cursor = 0.3
    while cursor < seconds:
        length = rng.uniform(0.8, 2.0)
        gate[int(cursor * sr):int(min(seconds, cursor + length) * sr)] = 1
        cursor += length + rng.choice([0.2, 1.8])
    mono = 0.1 * voiced * syllables * gate + 0.0005 * rng.standard_normal(n)
    return np.stack([mono] * channels, axis=1).astype(np.float32)


def _clean(tmp_path: Path, *inputs: Path, extra: tuple[str, ...] = ()) -> tuple[int, Path]:
    out = tmp_path / "out"
    code = main(["--quiet", "clean", *map(str, inputs), "--out", str(out), *extra])
    return code, out


def test_example_clip_is_cleaned_with_all_outputs(tmp_path: Path) -> None:
    source = tmp_path / "podcast.flac"
    source.write_bytes(EXAMPLE.read_bytes())
    before = _digest(source)
    code, out = _clean(tmp_path, source, extra=("--preset", "podcast-gentle", "--report"))
    assert code == 0
    assert _digest(source) == before
    cleaned = out / "podcast.cleaned.flac"
    edits_path = out / "podcast.edits.json"
    for name in ("podcast.cleaned.flac", "podcast.edits.json", "podcast.edits.csv", "podcast.labels.txt",
                 "podcast.report.png"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads(edits_path.read_text())
    assert data["sample_rate"] == 24000 and data["duration_s"] == pytest.approx(20.0)
    assert {e["label"] for e in data["events"]} <= {"pause", "breath", "click", "bump", "noise"}
    assert {e["action"] for e in data["events"]} <= {"keep", "shorten", "attenuate", "cut", "repair"}
    assert "pause" in {e["label"] for e in data["events"]}
    edits = load_edits(edits_path)
    info = sf.info(str(cleaned))
    assert info.samplerate == 24000 and info.channels == 1
    assert 0.0 < edits.removed_s < 0.5 * edits.duration_s
    assert info.frames == pytest.approx(round(map_time(edits.duration_s, edits.cuts) * 24000), abs=24 * len(edits.cuts))


def test_tight_preset_removes_more_than_gentle(tmp_path: Path) -> None:
    gentle_code, gentle_out = _clean(tmp_path / "g", EXAMPLE, extra=("--preset", "podcast-gentle"))
    tight_code, tight_out = _clean(tmp_path / "t", EXAMPLE, extra=("--preset", "podcast-tight"))
    assert gentle_code == tight_code == 0
    gentle = load_edits(gentle_out / "podcast.edits.json")
    tight = load_edits(tight_out / "podcast.edits.json")
    assert tight.removed_s > gentle.removed_s
    assert not any(e.label == "breath" and e.action == "attenuate" and e.gain_db == -15 for e in tight.events)


@pytest.mark.parametrize(("name", "sr", "channels", "seconds", "gain"), [
    ("tel8k", 8000, 1, 8.0, 1.0),
    ("hires96k", 96000, 2, 6.0, 1.0),
    ("short", 44100, 1, 0.2, 1.0),
    ("clipped", 44100, 2, 6.0, 30.0),
])
def test_unusual_inputs_give_a_result_of_the_same_format(tmp_path: Path, name: str, sr: int, channels: int,
                                                         seconds: float, gain: float) -> None:
    source = tmp_path / f"{name}.wav"
    audio = np.clip(_speechy(seconds, sr, channels=channels) * gain, -1, 1)
    sf.write(str(source), audio, sr, subtype="PCM_16")
    before = _digest(source)
    code, out = _clean(tmp_path, source)
    assert code == 0
    assert _digest(source) == before
    info = sf.info(str(out / f"{name}.cleaned.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (sr, channels, "PCM_16")
    edits = load_edits(out / f"{name}.edits.json")
    assert info.frames <= audio.shape[0]
    assert abs(info.frames - round(edits.cleaned_duration_s * sr)) <= sr * 0.002 * (1 + len(edits.cuts))


def test_silence_only_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "silence.wav"
    sf.write(str(source), np.zeros((48000 * 5, 2), dtype=np.float32), 48000, subtype="PCM_24")
    code = main(["--json", "clean", str(source), "--out", str(tmp_path / "out")])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert any("no speech detected" in m for m in payload["messages"])
    assert payload["summary"]["headline"] == "removed 0.0 s of 5.0 s: nothing to edit"
    edits = load_edits(tmp_path / "out" / "silence.edits.json")
    assert edits.cuts == ()
    assert sf.info(str(tmp_path / "out" / "silence.cleaned.wav")).frames == 48000 * 5


def test_corrupt_file_gives_one_clear_error_and_no_outputs(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "broken.wav"
    source.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is not audio")
    before = _digest(source)
    code, out = _clean(tmp_path, source)
    assert code == 3
    assert "broken.wav" in capsys.readouterr().err
    assert _digest(source) == before
    assert not out.exists() or not any(out.iterdir())


def test_multitrack_cuts_time_only_where_both_mics_are_quiet(tmp_path: Path) -> None:
    host, guest = tmp_path / "host.wav", tmp_path / "guest.wav"
    sf.write(str(host), _speechy(12.0, 48000, seed=1), 48000, subtype="PCM_16")
    sf.write(str(guest), _speechy(12.0, 48000, seed=2) * 0.5, 48000, subtype="PCM_16")
    code, out = _clean(tmp_path, host, guest, extra=("--multitrack",))
    assert code == 0
    host_edits = load_edits(out / "host.edits.json")
    guest_edits = load_edits(out / "guest.edits.json")
    assert host_edits.cuts == guest_edits.cuts
    assert sf.info(str(out / "host.cleaned.wav")).frames == sf.info(str(out / "guest.cleaned.wav")).frames
    assert {e.track for e in host_edits.events if e.label != "pause"} <= {0, 1}


def _room_tone(samples: int, sr: int) -> np.ndarray:
    """Brown-ish noise at -60 dBFS with mains hum: a mic in a quiet room that nobody speaks into."""
    rng = np.random.default_rng(5)
    tone = scipy.signal.lfilter([1.0], [1.0, -0.98], rng.standard_normal(samples))
    tone = tone / np.sqrt(np.mean(tone**2)) * 10 ** (-60 / 20)
    tone += 10 ** (-66 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 50 * np.arange(samples) / sr)
    return tone.astype(np.float32)


def test_a_mic_nobody_spoke_into_does_not_block_multitrack_cuts(tmp_path: Path) -> None:
    audio, sr = sf.read(str(EXAMPLE), dtype="float32")
    host, guest = tmp_path / "host.wav", tmp_path / "guest.wav"
    sf.write(str(host), audio, sr)
    sf.write(str(guest), _room_tone(audio.shape[0], sr), sr)
    code, solo = _clean(tmp_path / "solo", host)
    assert code == 0
    code, multi = _clean(tmp_path / "multi", host, guest, extra=("--multitrack",))
    assert code == 0
    alone, together = load_edits(solo / "host.edits.json").cuts, load_edits(multi / "host.edits.json").cuts
    assert len(alone) >= 3
    assert len(together) == len(alone)
    removed = [sum(c.end_s - c.start_s for c in cuts) for cuts in (alone, together)]
    assert abs(removed[0] - removed[1]) < 0.1


@pytest.mark.parametrize(("floor_db", "words_gain"), [(-60.0, 0.5), (-105.0, 0.05)],
                         ids=["room-tone", "near-digital-silence"])
def test_a_few_words_on_a_mostly_silent_mic_are_never_cut(tmp_path: Path, floor_db: float,
                                                          words_gain: float) -> None:
    # One second of speech (5 % of the track: too little for the level rule) inside the host's longest
    # pause: the multitrack edit must move its cut off the guest's words. Over near-digital silence the
    # track's 90th percentile is far under the "no signal" level, yet the words are there.
    audio, sr = sf.read(str(EXAMPLE), dtype="float32")
    host, guest = tmp_path / "host.wav", tmp_path / "guest.wav"
    sf.write(str(host), audio, sr)
    code, solo = _clean(tmp_path / "solo", host)
    assert code == 0
    longest = max(load_edits(solo / "host.edits.json").cuts, key=lambda c: c.end_s - c.start_s)
    words_start = (longest.start_s + longest.end_s) / 2 - 0.5
    track = _room_tone(audio.shape[0], sr) * 10 ** ((floor_db + 60.0) / 20)
    at = round(words_start * sr)
    track[at:at + sr] += words_gain * audio[2 * sr:3 * sr]
    sf.write(str(guest), track, sr, subtype="FLOAT")
    code, multi = _clean(tmp_path / "multi", host, guest, extra=("--multitrack",))
    assert code == 0
    cuts = load_edits(multi / "host.edits.json").cuts
    assert cuts
    assert all(c.end_s <= words_start or c.start_s >= words_start + 1.0 for c in cuts)


def test_unknown_preset_and_bad_option_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _clean(tmp_path, EXAMPLE, extra=("--preset", "no-such-preset"))
    assert code == 4
    assert "podcast-gentle" in capsys.readouterr().err  # the message lists the known presets
