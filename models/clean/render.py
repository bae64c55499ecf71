"""Apply an edit list to a source file: repairs, gain changes and cuts with crossfades, streamed.

Kept segments are joined by an equal-power crossfade centred on each cut point
(the planner puts cut points in quiet room tone, so the two sides are
uncorrelated noise and equal power keeps the level steady). Exactly the cut's
length is removed, so :func:`models.clean.edits.map_time` holds to the sample.
Clicks are repaired by autoregressive interpolation from both sides, which
rebuilds a few milliseconds of speech or room tone instead of leaving a hole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from models.ar import bridge
from models.audio_io import AudioWriter, audio_info
from models.clean.edits import EditList
from models.errors import AudioFileError
from models.progress import CancelToken, ProgressFn, check_cancel, no_progress

PIECE_S = 20.0
AR_ORDER = 32
AR_CONTEXT_MS = 12.0
#: Sample formats read as integers when a range is copied unchanged.
_NATIVE_DTYPES = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32"}


@dataclass(frozen=True)
class Gain:
    """Gain ``gain_db`` over samples ``[start, stop)``, ramped over ``ramp`` samples each side."""

    start: int
    stop: int
    gain_db: float
    ramp: int


@dataclass(frozen=True)
class Patch:
    """Samples ``[start, start + len(samples))`` replaced by ``samples`` ``(n, channels)``."""

    start: int
    samples: np.ndarray


@dataclass(frozen=True)
class RenderResult:
    path: Path
    frames_in: int
    frames_out: int
    sample_rate: int
    repaired: int


class _Source:
    """Random-access reads with zero padding outside the file, edits applied.

    Ranges no edit touches come back in the file's own integer format, so
    untouched audio is copied bit-exactly and without float conversion.
    """

    def __init__(self, handle: sf.SoundFile, frames: int, gains: Sequence[Gain], patches: Sequence[Patch]) -> None:
        self.handle = handle
        self.frames = frames
        self.gains = list(gains)
        self.patches = list(patches)
        self.native = _NATIVE_DTYPES.get(handle.subtype, "float32")

    @property
    def patches(self) -> list[Patch]:
        return self._patches

    @patches.setter
    def patches(self, value: Sequence[Patch]) -> None:
        self._patches = list(value)
        self._spans = np.array([(g.start - g.ramp, g.stop + g.ramp) for g in self.gains]
                               + [(p.start, p.start + p.samples.shape[0]) for p in self._patches],
                               dtype=np.int64).reshape(-1, 2)

    def raw(self, start: int, stop: int, dtype: str = "float32") -> np.ndarray:
        out = np.zeros((stop - start, self.handle.channels), dtype=dtype)
        lo, hi = max(0, start), min(self.frames, stop)
        if hi > lo:
            self.handle.seek(lo)
            out[lo - start:hi - start] = self.handle.read(hi - lo, dtype=dtype, always_2d=True)
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        touched = (self._spans[:, 0] < stop) & (self._spans[:, 1] > start)
        if not touched.any():
            return self.raw(start, stop, self.native)
        data = self.raw(start, stop)
        for patch in self._patches:
            lo, hi = max(start, patch.start), min(stop, patch.start + patch.samples.shape[0])
            if hi > lo:
                data[lo - start:hi - start] = patch.samples[lo - patch.start:hi - patch.start]
        for gain in self.gains:
            lo, hi = max(start, gain.start - gain.ramp), min(stop, gain.stop + gain.ramp)
            if hi > lo:
                data[lo - start:hi - start] *= _gain_curve(gain, lo, hi)[:, None]
        return data


def _gain_curve(gain: Gain, start: int, stop: int) -> np.ndarray:
    """Linear gain per sample: 1 outside, ``gain_db`` inside, raised-cosine ramps at the edges."""
    positions = np.arange(start, stop, dtype=np.float64)
    target = 10 ** (gain.gain_db / 20)
    ramp = max(1, gain.ramp)
    into = np.clip((positions - (gain.start - ramp)) / ramp, 0, 1)
    out_of = np.clip(((gain.stop + ramp) - positions) / ramp, 0, 1)
    weight = 0.5 - 0.5 * np.cos(np.pi * np.minimum(into, out_of))
    return (1 - weight * (1 - target)).astype(np.float32)


def interpolate_gap(left: np.ndarray, right: np.ndarray, count: int, *, order: int = AR_ORDER) -> np.ndarray:
    """``count`` samples bridging mono ``left`` and ``right`` context (see :func:`models.ar.bridge`)."""
    return bridge(left, right, count, order=order)


def locate_click(window: np.ndarray, *, max_len: int, margin: int = 8) -> tuple[int, int] | None:
    """The burst inside a mono window: samples whose first difference stands far above the
    window's median, widened by ``margin`` so the decaying tail is replaced too."""
    diff = np.abs(np.diff(window, prepend=window[:1]))
    threshold = max(8.0 * float(np.median(diff)), 0.1 * float(diff.max()))
    hits = np.flatnonzero(diff > threshold)
    if hits.size == 0 or diff.max() <= 1e-7:
        return None
    start, stop = int(hits[0]) - margin, int(hits[-1]) + 1 + margin
    if stop - start > max_len:
        centre = int(np.argmax(diff))
        start, stop = centre - max_len // 2, centre + max_len // 2
    return max(0, start), min(window.shape[0], stop)


def build_patches(source: _Source, clicks: Iterable[tuple[float, float]], sample_rate: int, *,
                  max_repair_ms: float) -> list[Patch]:
    """One patch per click event (``(start_s, end_s)`` from the detector's 10 ms frames)."""
    context = max(AR_ORDER * 2, int(AR_CONTEXT_MS / 1000 * sample_rate))
    max_len = max(4, int(max_repair_ms / 1000 * sample_rate))
    slack = int(0.005 * sample_rate)
    patches = []
    for start_s, end_s in clicks:
        lo, hi = int(start_s * sample_rate) - slack, int(end_s * sample_rate) + slack
        window = source.raw(lo, hi)
        found = locate_click(window.mean(axis=1), max_len=max_len, margin=max(2, sample_rate // 4000))
        if found is None:
            continue
        a, b = lo + found[0], lo + found[1]
        left = source.raw(a - context, a)
        right = source.raw(b, b + context)
        samples = np.stack([interpolate_gap(left[:, ch].astype(np.float64), right[:, ch].astype(np.float64), b - a)
                            for ch in range(window.shape[1])], axis=1)
        patches.append(Patch(a, samples.astype(np.float32)))
    return patches


def _kept_segments(edits: EditList, sample_rate: int, frames: int) -> list[tuple[int, int]]:
    segments = []
    cursor = 0
    for cut in edits.cuts:
        a, b = min(frames, round(cut.start_s * sample_rate)), min(frames, round(cut.end_s * sample_rate))
        if b <= a:
            continue
        segments.append((cursor, a))
        cursor = b
    segments.append((cursor, frames))
    # A cut at the very start or end leaves an empty segment: nothing to join there.
    return [(a, b) for a, b in segments if b > a]


def render_track(source_path: Path, out_path: Path, edits: EditList, *, track: int = 0,
                 inputs: Sequence[Path] = (), progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> RenderResult:
    """Write ``source_path`` with ``edits`` applied (this track's gains and repairs, all cuts)."""
    info = audio_info(source_path)
    sr, frames = info.sample_rate, info.frames
    sink = progress or no_progress
    half = max(1, int(edits.crossfade_ms / 1000 * sr) // 2)
    events = edits.events_for_track(track)
    gains = [Gain(round(e.start_s * sr), round(e.end_s * sr), float(e.gain_db), 2 * half)
             for e in events if e.action == "attenuate" and e.gain_db is not None]
    clicks = [(e.start_s, e.end_s) for e in events if e.action == "repair"]
    max_repair_ms = float(edits.settings.get("max_repair_ms", 20.0))
    try:
        handle = sf.SoundFile(str(source_path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(f"{source_path}: cannot read ({exc})") from exc
    with handle, AudioWriter(out_path, sr, info.channels, subtype=info.subtype,
                             inputs=[source_path, *inputs]) as writer:
        reader = _Source(handle, frames, gains, [])
        reader.patches = build_patches(reader, clicks, sr, max_repair_ms=max_repair_ms)
        segments = _kept_segments(edits, sr, frames)
        piece = int(PIECE_S * sr)
        done = 0
        for index, (seg_start, seg_stop) in enumerate(segments):
            check_cancel(cancel)
            body_start = seg_start + (half if index > 0 else 0)
            body_stop = seg_stop - (half if index < len(segments) - 1 else 0)
            if index > 0:
                previous_stop = segments[index - 1][1]
                writer.write(_crossfade(_as_float(reader.read(previous_stop - half, previous_stop + half)),
                                        _as_float(reader.read(seg_start - half, seg_start + half))))
            for lo in range(body_start, body_stop, piece):
                writer.write(reader.read(lo, min(body_stop, lo + piece)))
                done += min(body_stop, lo + piece) - lo
                sink(min(1.0, done / max(1, frames)), "rendering")
        written = writer.frames_written
    return RenderResult(path=out_path, frames_in=frames, frames_out=written, sample_rate=sr,
                        repaired=len(reader.patches))


def _as_float(block: np.ndarray) -> np.ndarray:
    """Integer PCM as float32 in [-1, 1), the scale soundfile itself uses."""
    if block.dtype.kind == "f":
        return block
    scale = 2.0 ** 15 if block.dtype == np.int16 else 2.0 ** 31
    return (block / scale).astype(np.float32)


def _crossfade(outgoing: np.ndarray, incoming: np.ndarray) -> np.ndarray:
    """Equal-power crossfade of two equally long ``(n, channels)`` blocks."""
    phase = (np.arange(outgoing.shape[0]) + 0.5) / outgoing.shape[0] * (np.pi / 2)
    return (outgoing * np.cos(phase)[:, None] + incoming * np.sin(phase)[:, None]).astype(np.float32)
