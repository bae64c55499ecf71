"""Windowed inpainting of whole files: memory bounded by a window, not by the file's length.

An archivist's VHS transfer is an hour of 44.1 kHz stereo; held in memory as
float64 with its STFT for the similarity search that took over 3 GB per ten
minutes. Every fill method needs only local context (Janssen a few hundred
milliseconds, the gap model ``SpectralParams.context_s`` a side, the similarity
search a passage that repeats nearby), so the job:

* detects dropouts block by block, with overlap so a dropout on a block edge is
  seen whole;
* fills runs of nearby gaps in one window each, ``CONTEXT_S`` of audio either
  side, with gaps filled earlier written into the window first, so each fill
  sees exactly what a whole-file pass would have seen;
* streams the output as a copy of the input with only gap samples replaced
  (integer PCM copied as integers, so it stays bit-identical outside the gaps).

The one difference from a whole-file pass: the similarity copy searches
``CONTEXT_S`` either side of a gap, not the whole recording.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from models.audio_io import AudioInfo, AudioWriter, SampleDType, iter_blocks, read_audio
from models.inpaint.detect import DetectParams, detect_dropouts
from models.inpaint.fill import FilledGap, FillParams, inpaint
from models.inpaint.gaps import Gap, merge_gaps
from models.inpaint.report import view_range
from models.progress import CancelToken, ProgressFn, check_cancel, scaled

#: Audio either side of a run of gaps: the similarity search's reach.
CONTEXT_S = 45.0
#: A run of gaps closer than ``CONTEXT_S`` to each other is filled in one window up to this span.
MAX_RUN_S = 60.0
DETECT_BLOCK_S = 120.0
#: Longer than any dropout the detector reports plus its analysis context.
DETECT_OVERLAP_S = 10.0
#: Overview pictures of long files are drawn from audio resampled to this many samples at most
#: (30 s at 40 kHz), but never below ``REPORT_MIN_RATE``: an overview shows where the gaps are
#: and the level around them; zoomed views (all gaps within 4 s) keep the full rate.
REPORT_MAX_SAMPLES = 1_200_000
REPORT_MIN_RATE = 1000
_COPY_BLOCK = 1 << 16


@dataclass(frozen=True)
class Patch:
    """Fill values ``(gap.length, channels the gap covers)`` for one gap."""

    gap: Gap
    values: np.ndarray


class _PatchIndex:
    """Patches found by frame range in O(log n): an hour of declicking holds thousands of them,
    and every fill window and output block asks which of them touch it."""

    def __init__(self, patches: Iterable[Patch] = ()) -> None:
        self._items: list[Patch] = []
        self._starts: list[int] = []
        self._longest = 0
        for patch in patches:
            self.add(patch)

    def add(self, patch: Patch) -> None:
        """Insert by start; patches with equal starts keep their order of insertion."""
        at = bisect.bisect_right(self._starts, patch.gap.start)
        self._starts.insert(at, patch.gap.start)
        self._items.insert(at, patch)
        self._longest = max(self._longest, patch.gap.length)

    def touching(self, lo: int, hi: int) -> list[Patch]:
        """Patches overlapping frames ``[lo, hi)``, by start. One that ends after ``lo`` starts
        after ``lo - longest``, so only that slice of the sorted starts is looked at."""
        first = bisect.bisect_left(self._starts, lo - self._longest + 1)
        last = bisect.bisect_left(self._starts, hi)
        return [patch for patch in self._items[first:last] if patch.gap.end > lo]

    def __iter__(self) -> Iterator[Patch]:
        return iter(self._items)


@dataclass(frozen=True)
class WindowedFill:
    patches: tuple[Patch, ...]
    fills: tuple[FilledGap, ...]
    messages: tuple[str, ...]


def detect_in_blocks(path: Path, info: AudioInfo, params: DetectParams, progress: ProgressFn) -> list[Gap]:
    """Dropouts of the whole file, found ``DETECT_BLOCK_S`` at a time."""
    sr, frames = info.sample_rate, info.frames
    block, overlap = int(DETECT_BLOCK_S * sr), int(DETECT_OVERLAP_S * sr)
    found: list[Gap] = []
    for core_start in range(0, max(frames, 1), block):
        lo, hi = max(0, core_start - overlap), min(frames, core_start + block + overlap)
        samples = read_audio(path, dtype="float64", start_frame=lo, frames=hi - lo).samples
        for gap in detect_dropouts(samples, sr, params=params):
            # Each dropout belongs to the block its start lies in; the overlap only gives context.
            if core_start <= lo + gap.start < core_start + block:
                found.append(dataclasses.replace(gap, start=lo + gap.start, end=lo + gap.end))
        progress(min(1.0, (core_start + block) / max(frames, 1)), "detecting dropouts")
    return merge_gaps(found, min_separation=int(0.002 * sr))


def fill_in_windows(path: Path, info: AudioInfo, gaps: Sequence[Gap], *, params: FillParams, model: Any,
                    progress: ProgressFn, cancel: CancelToken | None) -> WindowedFill:
    """Fill ``gaps`` (sorted, merged) window by window; returns each gap's values."""
    sr, frames = info.sample_rate, info.frames
    context = int(CONTEXT_S * sr)
    patches = _PatchIndex()
    fills: list[FilledGap] = []
    messages: list[str] = []
    done = 0
    for run in _runs(gaps, sr):
        check_cancel(cancel)
        lo, hi = max(0, run[0].start - context), min(frames, max(g.end for g in run) + context)
        window = read_audio(path, dtype="float64", start_frame=lo, frames=hi - lo).samples
        for patch in patches.touching(lo, hi):  # earlier fills are known audio now, as in one pass
            _apply(window, patch, offset=lo)
        # Later gaps inside the window are passed too, so they are not trusted as context;
        # their fills here are discarded (each is filled in its own run).
        later = [g for g in gaps[done + len(run):] if g.start < hi]
        local = [_shifted(g, -lo, limit=hi - lo) for g in (*run, *later)]
        result = inpaint(window, sr, local, params=params, model=model, cancel=cancel,
                         progress=scaled(progress, done / len(gaps), (done + len(run)) / len(gaps)))
        own = list(zip(local[: len(run)], run, strict=True))
        by_local = {(g.start, g.end, g.channel): original for g, original in own}
        for filled in result.fills:
            original = by_local.get((filled.gap.start, filled.gap.end, filled.gap.channel))
            if original is not None:
                fills.append(dataclasses.replace(filled, gap=original))
        for local_gap, original in own:
            columns = _columns(original, window.shape[1])
            patches.add(Patch(original, result.samples[local_gap.start:local_gap.end, columns].copy()))
        messages += [m for m in result.messages if m not in messages]
        done += len(run)
        progress(done / len(gaps), f"filled {done}/{len(gaps)} gaps")
    return WindowedFill(patches=tuple(patches), fills=tuple(fills), messages=tuple(messages))


def write_filled(source: Path, out: Path, info: AudioInfo, patches: Sequence[Patch], *, subtype: str,
                 int_bits: int | None) -> None:
    """Stream ``source`` to ``out`` with only the patched samples changed.

    Integer PCM is copied as left-justified int32 (how libsndfile reads every width), so
    untouched samples come out bit-identical; fills are quantized to the source's width.
    """
    dtype: SampleDType = "int32" if int_bits is not None else ("float64" if info.subtype == "DOUBLE" else "float32")
    index = _PatchIndex(patches)
    with AudioWriter(out, info.sample_rate, info.channels, subtype=subtype, inputs=[source]) as writer:
        for start, block in iter_blocks(source, _COPY_BLOCK, dtype=dtype):
            stop = start + block.shape[0]
            touching = index.touching(start, stop)
            if touching:
                block = block.copy()
                for patch in touching:
                    _apply(block, patch, offset=start, int_bits=int_bits)
            writer.write(block)


def report_signals(source: Path, info: AudioInfo, patches: Sequence[Patch],
                   gaps: Sequence[Gap]) -> tuple[np.ndarray, np.ndarray, int, list[Gap]]:
    """``(before, after, rate, gaps at that rate)``, mono, for the report picture.

    A view of a few gaps (all within 4 s) is read at full rate with a second of context;
    an overview of a long file is resampled down to ``REPORT_MAX_SAMPLES`` samples
    (a 0.1 s gap is a hairline in an hour anyway).
    """
    sr = info.sample_rate
    lo, hi = view_range(info.frames, sr, gaps)
    rate = sr if hi - lo <= REPORT_MAX_SAMPLES else max(REPORT_MIN_RATE, int(sr * REPORT_MAX_SAMPLES / (hi - lo)))
    # Before and after as the two channels of one stream, resampled block by block: an
    # hour of full-rate float audio is never held.
    stream = soxr.ResampleStream(sr, rate, 2, dtype="float32") if rate != sr else None
    index = _PatchIndex(patches)
    parts: list[np.ndarray] = []
    for start, block in _blocks(source, lo, hi):
        after = block.copy()
        for patch in index.touching(start, start + block.shape[0]):
            _apply(after, patch, offset=start)
        pair = np.stack([block.mean(axis=1), after.mean(axis=1)], axis=1)
        parts.append(pair if stream is None else stream.resample_chunk(pair))
    if stream is not None:
        parts.append(stream.resample_chunk(np.zeros((0, 2), dtype=np.float32), last=True))
    both = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.float32)
    before, after = both[:, 0], both[:, 1]
    scale = rate / sr
    view_gaps = [dataclasses.replace(g, start=int((g.start - lo) * scale),
                                     end=max(int((g.start - lo) * scale) + 1, int((g.end - lo) * scale)))
                 for g in gaps]
    return before, after, rate, view_gaps


def _blocks(source: Path, lo: int, hi: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, float32 block)`` over ``[lo, hi)``, one copy block at a time."""
    for start in range(lo, hi, _COPY_BLOCK * 16):
        n = min(_COPY_BLOCK * 16, hi - start)
        yield start, read_audio(source, dtype="float32", start_frame=start, frames=n).samples


def _runs(gaps: Sequence[Gap], sr: int) -> Iterator[list[Gap]]:
    """Consecutive gaps closer than ``CONTEXT_S`` to each other, each run at most ``MAX_RUN_S`` long."""
    run: list[Gap] = []
    for gap in gaps:
        if run and (gap.start - max(g.end for g in run) > CONTEXT_S * sr or gap.end - run[0].start > MAX_RUN_S * sr):
            yield run
            run = []
        run.append(gap)
    if run:
        yield run


def _shifted(gap: Gap, by: int, *, limit: int) -> Gap:
    return dataclasses.replace(gap, start=max(0, gap.start + by), end=min(limit, gap.end + by))


def _columns(gap: Gap, channels: int) -> slice:
    return slice(None) if gap.channel is None else slice(gap.channel, gap.channel + 1)


def _apply(block: np.ndarray, patch: Patch, *, offset: int, int_bits: int | None = None) -> None:
    """Write ``patch`` into ``block`` (which starts at frame ``offset``), quantized for integer blocks."""
    a, b = max(patch.gap.start, offset), min(patch.gap.end, offset + block.shape[0])
    if b <= a:
        return
    values = patch.values[a - patch.gap.start : b - patch.gap.start]
    columns = _columns(patch.gap, block.shape[1])
    if int_bits is None:
        block[a - offset : b - offset, columns] = np.clip(values, -1.0, 1.0).astype(block.dtype)
        return
    top = 2 ** (int_bits - 1)
    quantized = np.clip(np.round(values * top), -top, top - 1).astype(np.int64) << (32 - int_bits)
    block[a - offset : b - offset, columns] = quantized.astype(np.int32)
