"""Detection: audio to per-frame class probabilities, streamed for files of any length.

The file is decoded in blocks, mixed to mono, resampled to 16 kHz with a
streaming resampler and measured frame by frame; only the 10 ms frame
measurements are kept (float16 log-mel), so a 3-hour 48 kHz stereo file needs
a few hundred MB. The model then runs over batches of overlapping chunks:
a GRU is sequential in time, and batching chunks is what makes it fast on CPU.
Signal logic overrides the model where levels are unambiguous (digital silence,
very quiet frames, loud frames the model calls a pause).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from models.audio_io import audio_info, iter_blocks
from models.clean.features import N_FFT, N_MELS, RawFrames, normalise, raw_frames, reference_level_db
from models.clean.labels import ANALYSIS_SR, BREATH, HOP, NOISE, NUM_CLASSES, PAUSE, SPEECH
from models.progress import CancelToken, ProgressFn, check_cancel, no_progress

log = logging.getLogger(__name__)

#: Decoding block at the source rate: 20 s keeps memory flat and numpy efficient.
BLOCK_S = 20.0
CHUNK_FRAMES = 2000
CONTEXT_FRAMES = 150
BATCH_CHUNKS = 8
#: Frames quieter than the speech level minus this are silence whatever the model says.
SILENCE_BELOW_REF_DB = 45.0
#: Absolute floor: digital silence or a disconnected mic.
SILENCE_FLOOR_DBFS = -80.0
#: A "pause" louder than speech level minus this is not a pause: protect it as speech.
LOUD_PAUSE_BELOW_REF_DB = 12.0
#: The reference level (90th percentile of frame energy) is the speech level only where speech
#: fills at least a tenth of the track; below this share of model-labelled speech frames it is the
#: level of room tone, breaths or bleed, and the loud-pause rule would turn a speech-free track
#: (a mic nobody spoke into) into "speech" and block every multitrack cut.
MIN_SPEECH_SHARE = 0.1
#: On such a track the sounds (speech, if any, among them) are the frames this far over the median.
ACTIVE_ABOVE_MEDIAN_DB = 20.0
#: A file whose loudest sounds are below this holds no usable speech.
NO_SIGNAL_DBFS = -70.0


@dataclass(frozen=True)
class TrackAnalysis:
    """Per-frame results for one track (10 ms frames at source time ``i * 0.01`` s).

    ``probs`` is ``(frames, NUM_CLASSES)``; ``labels`` applies signal logic to the
    model's argmax; ``energy_db`` is the frame level in dBFS.
    """

    probs: np.ndarray
    labels: np.ndarray
    energy_db: np.ndarray
    reference_db: float
    duration_s: float
    sample_rate: int

    @property
    def frames(self) -> int:
        return int(self.labels.shape[0])


def _measure_compact(signal: np.ndarray, left: np.ndarray, right: np.ndarray) -> RawFrames:
    measured = raw_frames(signal, left=left, right=right)
    return RawFrames(log_mel=measured.log_mel.astype(np.float16), energy_db=measured.energy_db,
                     crest_db=measured.crest_db)


class _StreamingFrames:
    """Feeds 16 kHz mono blocks through :func:`raw_frames` with exact frame alignment.

    Each block is measured on a worker thread (FFTs and matrix products release
    the GIL) while the caller decodes and resamples the next one; log-mel frames
    are kept as float16, a quarter of the memory of the float32 features.
    """

    def __init__(self, pool: ThreadPoolExecutor | None = None) -> None:
        self._pad = N_FFT // 2 - HOP // 2
        self._buffer = np.zeros(self._pad, dtype=np.float32)  # the left zero padding of frame 0
        self._pool = pool
        self._parts: list[Future[RawFrames]] = []
        self._frames_queued = 0
        self.samples = 0

    def push(self, block: np.ndarray, *, final: bool = False) -> None:
        self._buffer = np.concatenate([self._buffer, block.astype(np.float32)])
        self.samples += int(block.shape[0])
        if final:
            self._buffer = np.concatenate([self._buffer, np.zeros(N_FFT, dtype=np.float32)])
        # Frame k of the buffer covers buffer[k*HOP : k*HOP + N_FFT]; its hop is buffer[pad + k*HOP : ...].
        usable = (self._buffer.shape[0] - N_FFT) // HOP + 1 if self._buffer.shape[0] >= N_FFT else 0
        if final:
            usable = min(usable, (self.samples + HOP - 1) // HOP - self._frames_queued)
        if usable <= 0:
            return
        segment = self._buffer[: (usable - 1) * HOP + N_FFT]
        args = (segment[self._pad:self._pad + usable * HOP], segment[: self._pad],
                segment[self._pad + usable * HOP:])
        if self._pool is None:
            done: Future[RawFrames] = Future()
            done.set_result(_measure_compact(*args))
            self._parts.append(done)
        else:
            self._parts.append(self._pool.submit(_measure_compact, *args))
        self._frames_queued += usable
        self._buffer = self._buffer[usable * HOP:]

    def result(self) -> RawFrames:
        parts = [future.result() for future in self._parts]
        if not parts:
            empty = np.zeros(0, dtype=np.float32)
            return RawFrames(log_mel=np.zeros((0, N_MELS), dtype=np.float16), energy_db=empty, crest_db=empty)
        return RawFrames(log_mel=np.concatenate([p.log_mel for p in parts]),
                         energy_db=np.concatenate([p.energy_db for p in parts]),
                         crest_db=np.concatenate([p.crest_db for p in parts]))


def _mixdown(block: np.ndarray) -> np.ndarray:
    """Channel average as float32; column adds are ~10x faster than ``mean(axis=1)`` on (n, 2) data."""
    mono = block[:, 0].astype(np.float32)
    for channel in range(1, block.shape[1]):
        mono += block[:, channel]
    if block.shape[1] > 1:
        mono *= np.float32(1.0 / block.shape[1])
    return mono


def _mono_16k_blocks(path: Path, sample_rate: int, cancel: CancelToken | None) -> Iterator[np.ndarray]:
    resampler = soxr.ResampleStream(sample_rate, ANALYSIS_SR, 1, dtype="float32", quality="HQ")
    block_frames = int(BLOCK_S * sample_rate)
    for _, block in iter_blocks(path, block_frames):
        check_cancel(cancel)
        yield resampler.resample_chunk(_mixdown(block))
    yield resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def measure_file(path: Path, *, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> tuple[RawFrames, float, int]:
    """Stream a file into frame measurements; returns ``(frames, duration_s, sample_rate)``."""
    info = audio_info(path)
    sink = progress or no_progress
    expected = max(1, round(info.frames * ANALYSIS_SR / info.sample_rate))
    with ThreadPoolExecutor(max_workers=1) as pool:
        stream = _StreamingFrames(pool)
        for block in _mono_16k_blocks(path, info.sample_rate, cancel):
            stream.push(block)
            sink(min(1.0, stream.samples / expected), "measuring")
        stream.push(np.zeros(0, dtype=np.float32), final=True)
        raw = stream.result()
    return raw, info.duration_s, info.sample_rate


def measure_signal(signal: np.ndarray) -> RawFrames:
    """Frame measurements of an in-memory mono 16 kHz signal."""
    return raw_frames(np.asarray(signal, dtype=np.float32))


@contextlib.contextmanager
def _one_intra_op_thread() -> Iterator[None]:
    """A GRU step is a tiny matrix product: splitting it across threads costs more in
    synchronisation than it gains (10x slower on a busy 2-core machine). Run each
    batch on one thread and use the cores for separate batches instead."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_model(model: Any, features: np.ndarray, *, progress: ProgressFn | None = None,
              cancel: CancelToken | None = None, workers: int | None = None,
              embeddings: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities ``(frames, NUM_CLASSES)`` from features ``(frames, FEATURE_DIM)``.

    Chunks of ``CHUNK_FRAMES`` carry ``CONTEXT_FRAMES`` of context each side that
    are computed and dropped, so chunk borders do not change the result. Batches
    of chunks run on ``workers`` threads (torch releases the GIL inside its ops).
    Given an ``embeddings`` array ``(frames, dim)``, the model's frame embeddings
    (``model.embed``) are written into it as well.
    """
    import torch

    total = features.shape[0]
    out = np.zeros((total, NUM_CLASSES), dtype=np.float32)
    if total == 0:
        return out
    sink = progress or no_progress
    starts = list(range(0, total, CHUNK_FRAMES))
    device = next(model.parameters()).device
    width = min(total, CHUNK_FRAMES + 2 * CONTEXT_FRAMES)
    groups = [starts[i:i + BATCH_CHUNKS] for i in range(0, len(starts), BATCH_CHUNKS)]

    def infer(group: list[int]) -> int:
        check_cancel(cancel)
        batch = np.zeros((len(group), width, features.shape[1]), dtype=np.float32)
        spans = []
        for row, start in enumerate(group):
            lo = max(0, min(start - CONTEXT_FRAMES, total - width))
            batch[row] = features[lo:lo + width]
            spans.append((lo, start, min(total, start + CHUNK_FRAMES)))
        with torch.inference_mode():
            inputs = torch.from_numpy(batch).to(device)
            embedded = None if embeddings is None else model.embed(inputs)
            logits = model(inputs) if embedded is None else model.head(embedded)
            probs = torch.softmax(logits, dim=-1).cpu().numpy()
            embedded_np = None if embedded is None else embedded.cpu().numpy()
        for row, (lo, start, stop) in enumerate(spans):
            out[start:stop] = probs[row, start - lo:stop - lo]
            if embeddings is not None and embedded_np is not None:
                embeddings[start:stop] = embedded_np[row, start - lo:stop - lo]
        return spans[-1][2]

    threads = workers or min(len(groups), os.cpu_count() or 1, 4)
    with _one_intra_op_thread(), ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        done = 0
        for stop in pool.map(infer, groups):
            done = max(done, stop)
            sink(done / total, "detecting")
    return out


def analyse(raw: RawFrames, model: Any, *, duration_s: float, sample_rate: int,
            progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> TrackAnalysis:
    """Model probabilities plus signal logic for one track's frame measurements."""
    reference_db = reference_level_db(raw.energy_db)
    sounds_db = sparse_reference_db(raw.energy_db) if raw.frames else reference_db
    # "No usable signal" is judged on the loudest sounds: a few words over digital near-silence leave
    # the 90th percentile far below NO_SIGNAL_DBFS, and they must still be heard (and protected).
    if raw.frames == 0 or max(reference_db, sounds_db) < NO_SIGNAL_DBFS:
        probs = np.zeros((raw.frames, NUM_CLASSES), dtype=np.float32)
        probs[:, PAUSE] = 1.0
        return TrackAnalysis(probs=probs, labels=np.full(raw.frames, PAUSE, dtype=np.int8),
                             energy_db=raw.energy_db, reference_db=reference_db, duration_s=duration_s,
                             sample_rate=sample_rate)
    probs = _probabilities(raw, model, reference_db, progress=progress, cancel=cancel)
    speech_level = reference_is_speech_level(probs)
    if not speech_level:
        # Too little speech for the 90th percentile to be its level: words of a mostly silent mic
        # then reach the model 30-40 dB "above speech level" and come out as bumps or noise. Listen
        # again at the level of the track's sounds, and let a frame take that hearing where it is
        # more sure of speech (only speech can gain: protection never drops).
        loudest = _probabilities(raw, model, sounds_db, cancel=cancel)
        heard = loudest[:, SPEECH] > probs[:, SPEECH]
        probs[heard] = loudest[heard]
    labels = apply_signal_logic(probs, raw.energy_db, reference_db, speech_level=speech_level)
    return TrackAnalysis(probs=probs, labels=labels, energy_db=raw.energy_db, reference_db=reference_db,
                         duration_s=duration_s, sample_rate=sample_rate)


def sparse_reference_db(energy_db: np.ndarray) -> float:
    """The level of a sparse track's sounds: the 90th percentile (as for any track) of the frames
    standing ``ACTIVE_ABOVE_MEDIAN_DB`` over its median, the room tone that fills most of it."""
    active = energy_db[energy_db > np.median(energy_db) + ACTIVE_ABOVE_MEDIAN_DB]
    return float(np.percentile(active if active.size else energy_db, 90.0))


def _probabilities(raw: RawFrames, model: Any, reference_db: float, *, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None) -> np.ndarray:
    """The model's class probabilities for every frame, features normalised to ``reference_db``."""
    probs = np.zeros((raw.frames, NUM_CLASSES), dtype=np.float32)
    step = 200_000  # normalise in slices: float32 features of a 3-hour file would not fit comfortably
    for lo in range(0, raw.frames, step - 2 * CONTEXT_FRAMES):
        hi = min(raw.frames, lo + step)
        part = RawFrames(log_mel=raw.log_mel[lo:hi].astype(np.float32), energy_db=raw.energy_db[lo:hi],
                         crest_db=raw.crest_db[lo:hi])
        result = run_model(model, normalise(part, reference_db), cancel=cancel)
        keep_from = 0 if lo == 0 else CONTEXT_FRAMES
        probs[lo + keep_from:hi] = result[keep_from:]
        if progress is not None:
            progress(hi / raw.frames, "detecting")
        if hi == raw.frames:
            break
    return probs


def reference_is_speech_level(probs: np.ndarray) -> bool:
    """Whether the model hears speech in at least ``MIN_SPEECH_SHARE`` of the frames, so that the
    90th-percentile reference level is a speech level."""
    return bool(probs.shape[0]) and float(np.mean(probs.argmax(axis=1) == SPEECH)) >= MIN_SPEECH_SHARE


def apply_signal_logic(probs: np.ndarray, energy_db: np.ndarray, reference_db: float, *,
                       speech_level: bool | None = None) -> np.ndarray:
    """Model argmax, corrected where the level settles the question.

    The loud-pause correction needs ``reference_db`` to be a speech level, so it applies only when
    ``speech_level`` (by default :func:`reference_is_speech_level` of ``probs``). :func:`analyse` passes
    the first hearing's verdict, so that speech the second hearing adds cannot switch it back on.
    """
    if speech_level is None:
        speech_level = reference_is_speech_level(probs)
    labels = probs.argmax(axis=1).astype(np.int8)
    silent = (energy_db < reference_db - SILENCE_BELOW_REF_DB) | (energy_db < SILENCE_FLOOR_DBFS)
    labels[silent & np.isin(labels, (SPEECH, BREATH, NOISE))] = PAUSE
    if speech_level:
        loud_pause = (labels == PAUSE) & (energy_db > reference_db - LOUD_PAUSE_BELOW_REF_DB)
        labels[loud_pause] = SPEECH
    return labels

