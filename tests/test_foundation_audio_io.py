"""Audio I/O: bit-exact round trips, streaming, clear errors, inputs never overwritten."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from models.audio_io import AudioWriter, audio_info, iter_blocks, read_audio, resample, write_audio
from models.errors import AudioFileError, UserInputError

SUBTYPE_SCALE = {"PCM_16": 2**15, "PCM_24": 2**23}


def _pcm(subtype: str, frames: int, channels: int, seed: int = 0) -> np.ndarray:
    """Full-scale random PCM as int32 (24-bit values left-aligned, as libsndfile returns them)."""
    rng = np.random.default_rng(seed)
    bits = 16 if subtype == "PCM_16" else 24
    values = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(frames, channels), dtype=np.int64)
    return (values << (32 - bits)).astype(np.int32)


@pytest.mark.parametrize("ext", [".wav", ".flac", ".aiff"])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("sample_rate", [44100, 48000])
def test_pcm_round_trip_through_float32_is_bit_exact(
    tmp_path: Path, ext: str, subtype: str, channels: int, sample_rate: int
) -> None:
    original = _pcm(subtype, 4000, channels)
    source = write_audio(tmp_path / f"in{ext}", original, sample_rate, subtype=subtype)
    audio = read_audio(source)  # float32, what every job works on
    assert audio.samples.dtype == np.float32 and audio.samples.shape == (4000, channels)
    copy = write_audio(tmp_path / f"out{ext}", audio.samples, audio.sample_rate, subtype=audio.subtype,
                       inputs=[source])
    info = audio_info(copy)
    assert (info.sample_rate, info.channels, info.subtype) == (sample_rate, channels, subtype)
    np.testing.assert_array_equal(read_audio(copy, dtype="int32").samples, original)


@pytest.mark.parametrize("ext", [".wav", ".aiff"])
@pytest.mark.parametrize("channels", [1, 2])
def test_float_round_trip_is_bit_exact(tmp_path: Path, ext: str, channels: int) -> None:
    original = np.random.default_rng(1).uniform(-1, 1, size=(3000, channels)).astype(np.float32)
    source = write_audio(tmp_path / f"in{ext}", original, 48000, subtype="FLOAT")
    audio = read_audio(source)
    assert audio.subtype == "FLOAT"
    copy = write_audio(tmp_path / f"out{ext}", audio.samples, 48000, subtype=audio.subtype)
    np.testing.assert_array_equal(read_audio(copy).samples, original)


@pytest.mark.parametrize("ext", [".ogg", ".mp3"])
def test_lossy_formats_read_and_write(tmp_path: Path, ext: str) -> None:
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000).astype(np.float32)
    path = write_audio(tmp_path / f"tone{ext}", np.stack([tone, tone], axis=1), 48000)
    audio = read_audio(path)
    assert audio.channels == 2 and audio.sample_rate == 48000
    assert audio.frames >= 47000
    assert 0.3 < float(np.max(np.abs(audio.samples))) < 0.7


def test_frame_range_read(tmp_path: Path) -> None:
    data = _pcm("PCM_16", 1000, 1)
    path = write_audio(tmp_path / "a.wav", data, 44100, subtype="PCM_16")
    part = read_audio(path, dtype="int32", start_frame=100, frames=50).samples
    np.testing.assert_array_equal(part, data[100:150])


def test_iter_blocks_covers_file_with_overlap(tmp_path: Path) -> None:
    data = _pcm("PCM_16", 10_000, 2)
    path = write_audio(tmp_path / "a.wav", data, 44100, subtype="PCM_16")
    starts, rebuilt = [], []
    for start, block in iter_blocks(path, 3000, overlap_frames=500, dtype="int32"):
        np.testing.assert_array_equal(block, data[start : start + block.shape[0]])
        starts.append(start)
        rebuilt.append(block[: 2500] if start + 3000 < 10_000 else block)
    assert starts == [0, 2500, 5000, 7500]
    np.testing.assert_array_equal(np.concatenate(rebuilt), data)


def test_streaming_writer_produces_same_file_as_whole_write(tmp_path: Path) -> None:
    data = np.random.default_rng(2).uniform(-0.9, 0.9, size=(9000, 2)).astype(np.float32)
    with AudioWriter(tmp_path / "s.flac", 48000, 2, subtype="PCM_24") as writer:
        for start in range(0, 9000, 1234):
            writer.write(data[start : start + 1234])
    whole = write_audio(tmp_path / "w.flac", data, 48000, subtype="PCM_24")
    np.testing.assert_array_equal(read_audio(tmp_path / "s.flac", dtype="int32").samples,
                                  read_audio(whole, dtype="int32").samples)


def test_float_written_to_pcm_is_clipped_not_wrapped(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "c.wav", np.array([[1.7], [-2.0], [0.5]], dtype=np.float32), 8000,
                       subtype="PCM_16")
    values = read_audio(path, dtype="int16").samples[:, 0]
    assert values[0] == 32767 and values[1] == -32768 and values[2] == 16384


def test_resample_changes_rate_and_keeps_tone(tmp_path: Path) -> None:
    tone = np.sin(2 * np.pi * 1000 * np.arange(44100) / 44100).astype(np.float32)
    out = resample(tone, 44100, 16000)
    assert out.shape == (16000,) and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(int(np.argmax(spectrum)) - 1000) <= 1  # 1 Hz bins for a 1 s signal


def test_corrupt_file_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(AudioFileError, match=r"broken\.wav"):
        read_audio(bad)
    assert bad.read_bytes() == b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk"


def test_missing_and_folder_inputs_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        audio_info(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="is a folder"):
        audio_info(tmp_path)


def test_unsupported_output_extension(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="unsupported output extension"):
        write_audio(tmp_path / "x.xyz", np.zeros(10, dtype=np.float32), 8000)


def test_output_never_overwrites_an_input(tmp_path: Path) -> None:
    source = write_audio(tmp_path / "in.wav", _pcm("PCM_16", 100, 1), 8000, subtype="PCM_16")
    before = source.read_bytes()
    with pytest.raises(UserInputError, match="refusing to overwrite"):
        write_audio(source, np.zeros(10, dtype=np.float32), 8000, inputs=[source])
    link = tmp_path / "link.wav"
    link.symlink_to(source)
    with pytest.raises(UserInputError, match="refusing to overwrite"):
        write_audio(link, np.zeros(10, dtype=np.float32), 8000, inputs=[source])
    assert source.read_bytes() == before


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    with pytest.raises(RuntimeError), AudioWriter(target, 8000, 1) as writer:
        writer.write(np.zeros(100, dtype=np.float32))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    assert sf.available_formats()  # libsndfile still usable after the failure
