"""Audio file I/O for every job: read, stream, resample and write atomically.

Reads WAV, FLAC, OGG, MP3 and AIFF through libsndfile (soundfile). Output keeps
the input's channels, sample rate and sample format unless asked otherwise, and
is written through :func:`models.atomic.atomic_path` so a crash never leaves a
partial file. Long files are processed as blocks (:func:`iter_blocks`,
:class:`AudioWriter`) so a 3-hour podcast never sits in memory as float64.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

from models.atomic import atomic_path, refuse_overwriting_inputs
from models.errors import AudioFileError

SampleDType = Literal["float32", "float64", "int16", "int32"]

#: File extensions we read and write, mapped to libsndfile's major format names.
FORMAT_BY_EXTENSION = {
    ".wav": "WAV",
    ".wave": "WAV",
    ".flac": "FLAC",
    ".ogg": "OGG",
    ".oga": "OGG",
    ".mp3": "MP3",
    ".aif": "AIFF",
    ".aiff": "AIFF",
    ".aifc": "AIFF",
}

#: Sample formats that can be stored losslessly and read back bit-exactly as int32/float32.
_LOSSY_FORMATS = {"OGG", "MP3"}


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, without reading its samples."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@dataclass(frozen=True)
class Audio:
    """Samples shaped ``(frames, channels)`` with the file format they came from."""

    samples: np.ndarray
    sample_rate: int
    format: str = "WAV"
    subtype: str = "FLOAT"

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def supported_extensions() -> tuple[str, ...]:
    return tuple(sorted(FORMAT_BY_EXTENSION))


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Describe an audio file, raising :class:`AudioFileError` with a readable reason."""
    file_path = _existing_audio_path(path)
    try:
        info = sf.info(str(file_path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{file_path}: not a readable audio file ({_sf_reason(exc)})") from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioFileError(f"{file_path}: the file has no audio stream")
    return AudioInfo(
        path=file_path,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        format=str(info.format),
        subtype=str(info.subtype),
    )


def read_audio(
    path: str | os.PathLike[str],
    *,
    dtype: SampleDType = "float32",
    start_frame: int = 0,
    frames: int = -1,
) -> Audio:
    """Read a whole file (or a frame range) as ``(frames, channels)`` samples.

    Integer ``dtype`` reads PCM without any float conversion, which is what
    bit-exact pass-through needs.
    """
    info = audio_info(path)
    try:
        samples, sample_rate = sf.read(
            str(info.path), dtype=dtype, always_2d=True, start=start_frame, frames=frames
        )
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{info.path}: decoding failed ({_sf_reason(exc)})") from exc
    return Audio(samples=samples, sample_rate=int(sample_rate), format=info.format, subtype=info.subtype)


def iter_blocks(
    path: str | os.PathLike[str],
    block_frames: int,
    *,
    overlap_frames: int = 0,
    dtype: SampleDType = "float32",
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start_frame, block)`` over a file, each block ``(n, channels)``.

    Consecutive blocks share ``overlap_frames`` samples so windowed analysis sees
    context across block edges; memory stays at one block whatever the file size.
    """
    if block_frames <= overlap_frames:
        raise ValueError("block_frames must exceed overlap_frames")
    info = audio_info(path)
    try:
        with sf.SoundFile(str(info.path)) as handle:
            for index, block in enumerate(
                handle.blocks(blocksize=block_frames, overlap=overlap_frames, dtype=dtype, always_2d=True)
            ):
                yield index * (block_frames - overlap_frames), block
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{info.path}: decoding failed ({_sf_reason(exc)})") from exc


def output_format_for(path: str | os.PathLike[str]) -> str:
    ext = Path(path).suffix.lower()
    try:
        return FORMAT_BY_EXTENSION[ext]
    except KeyError:
        allowed = ", ".join(supported_extensions())
        raise AudioFileError(f"{path}: unsupported output extension {ext!r} (use one of {allowed})") from None


def output_subtype_for(fmt: str, preferred: str | None) -> str:
    """Keep the source's sample format when the target container can hold it."""
    if preferred and sf.check_format(fmt, preferred):
        return preferred
    return str(sf.default_subtype(fmt))


def write_audio(
    path: str | os.PathLike[str],
    samples: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write samples atomically; ``inputs`` are files the output must never replace.

    ``subtype`` (e.g. ``"PCM_24"``) defaults to the container's default. Float
    input is clipped to [-1, 1] only when written to an integer format.
    """
    target = Path(path)
    with AudioWriter(target, sample_rate, _channels_of(samples), subtype=subtype, inputs=inputs) as writer:
        writer.write(samples)
    return target


class AudioWriter:
    """Streaming, atomic audio writer: blocks go to a temp file renamed on close.

    If the ``with`` body raises, nothing appears at ``path``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        sample_rate: int,
        channels: int,
        *,
        subtype: str | None = None,
        inputs: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.path = Path(path)
        refuse_overwriting_inputs(self.path, [Path(p) for p in inputs])
        self.format = output_format_for(self.path)
        self.subtype = output_subtype_for(self.format, subtype)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.frames_written = 0
        self._stack = contextlib.ExitStack()
        self._handle: sf.SoundFile | None = None

    def __enter__(self) -> AudioWriter:
        tmp = self._stack.enter_context(atomic_path(self.path, suffix=self.path.suffix))
        try:
            self._handle = sf.SoundFile(
                str(tmp), "w", samplerate=self.sample_rate, channels=self.channels,
                subtype=self.subtype, format=self.format,
            )
        except (sf.LibsndfileError, RuntimeError) as exc:
            self._stack.close()
            raise AudioFileError(f"{self.path}: cannot write {self.format}/{self.subtype} ({exc})") from exc
        return self

    def write(self, block: np.ndarray) -> None:
        if self._handle is None:
            raise RuntimeError("AudioWriter used outside its with-block")
        data = block.reshape(-1, 1) if block.ndim == 1 else block
        if data.shape[1] != self.channels:
            raise ValueError(f"block has {data.shape[1]} channels, writer expects {self.channels}")
        if data.dtype.kind == "f" and not self.subtype.startswith(("FLOAT", "DOUBLE")):
            data = np.clip(data, -1.0, 1.0)
        self._handle.write(data)
        self.frames_written += int(data.shape[0])

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        # The ExitStack renames the temp file on success and deletes it on error.
        self._stack.__exit__(exc_type, exc, tb)


def resample(samples: np.ndarray, sr_in: int, sr_out: int, *, quality: str = "HQ") -> np.ndarray:
    """High-quality resampling (soxr) along axis 0; float32 in and out."""
    if sr_in == sr_out:
        return samples.astype(np.float32, copy=False)
    out = soxr.resample(np.ascontiguousarray(samples, dtype=np.float32), sr_in, sr_out, quality=quality)
    return np.asarray(out, dtype=np.float32)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels of a ``(frames, channels)`` array into ``(frames,)``; 1-D passes through."""
    if samples.ndim == 1:
        return samples
    return samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]


def is_lossy(fmt: str) -> bool:
    return fmt.upper() in _LOSSY_FORMATS


def _channels_of(samples: np.ndarray) -> int:
    return 1 if samples.ndim == 1 else int(samples.shape[1])


def _existing_audio_path(path: str | os.PathLike[str]) -> Path:
    file_path = Path(path)
    if not file_path.exists():
        raise AudioFileError(f"{file_path}: no such file")
    if file_path.is_dir():
        raise AudioFileError(f"{file_path}: is a folder, not an audio file")
    if not os.access(file_path, os.R_OK):
        raise AudioFileError(f"{file_path}: permission denied")
    return file_path


def _sf_reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.split(":", 1)[-1].strip() if text else type(exc).__name__
