"""The pure transcription core: mono audio in, notes out.

``transcribe`` runs the network over the audio in overlapping chunks (through
:func:`models.chunked.run_chunked`, on hop-sized blocks of samples so that
features, activations and outputs all stay bounded per chunk), then decodes the
posteriors into notes. Loading files, writing MIDI and reporting live elsewhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.audio_io import AudioInfo, audio_info, iter_blocks, resample
from models.chunked import run_chunked
from models.progress import CancelToken, ProgressFn, check_cancel, scaled
from models.registry import native_bfloat16
from models.transcribe.decode import DecodeSettings, Posteriors, Rescorers, TranscribedNote, decode
from models.transcribe.features import HOP, LONG_WINDOW_HALF_FRAMES, SAMPLE_RATE, model_features, normalize_peak

log = logging.getLogger(__name__)

#: Default chunk length: 10 s of audio per forward pass. Short chunks keep the activations (the
#: harmonic stack is 57 maps of 220 bins per frame) in the CPU caches: with 500 frames the network ran
#: 1.5 to 2 times faster than with 3000, despite the 47 context frames recomputed on each side.
CHUNK_FRAMES = 500
#: A median onset confidence below this suggests the input is not (solo) piano.
LOW_CONFIDENCE = 0.65
#: Below this peak level the input is treated as silence.
SILENCE_PEAK = 10 ** (-70 / 20)


@dataclass(frozen=True)
class Transcription:
    """Notes found in one recording, with what a caller needs to report on them."""

    notes: tuple[TranscribedNote, ...]
    duration_s: float
    sample_rate: int
    messages: tuple[str, ...] = ()
    posteriors: Posteriors | None = None


def load_mono_16k(path: Path, *, block_s: float = 30.0) -> tuple[np.ndarray, AudioInfo]:
    """A file as mono 16 kHz float32, read and resampled block by block.

    Only one block of the source (any rate, any channel count) is in memory at a
    time; the 16 kHz mono result needs 64 kB per second of audio.
    """
    import soxr

    info = audio_info(path)
    stream = soxr.ResampleStream(info.sample_rate, SAMPLE_RATE, 1, dtype="float32")
    pieces: list[np.ndarray] = []
    block_frames = max(1, int(block_s * info.sample_rate))
    for _, block in iter_blocks(path, block_frames):
        pieces.append(stream.resample_chunk(block.mean(axis=1, dtype=np.float32)))
    pieces.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    audio = np.concatenate(pieces)
    return audio.astype(np.float32, copy=False), info


def input_messages(sr: int, channels: int) -> list[str]:
    """What the user should know about an input's format before reading the notes."""
    messages = []
    if channels > 1:
        messages.append(f"mixed {channels} channels to mono")
    if sr < SAMPLE_RATE:
        messages.append(f"sample rate {sr} Hz is below 16 kHz: partials above {sr / 2:.0f} Hz are missing, "
                        "expect weaker results for high notes")
    return messages


def prepare_audio(samples: np.ndarray, sr: int) -> np.ndarray:
    """Mono 16 kHz float32 from ``(frames,)`` or ``(frames, channels)`` at any rate."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    return resample(np.asarray(mono, dtype=np.float32), sr, SAMPLE_RATE)


def predict(model: object, audio_16k: np.ndarray, *, chunk_frames: int = CHUNK_FRAMES,
            progress: ProgressFn | None = None, cancel: CancelToken | None = None,
            bfloat16: bool | None = None) -> Posteriors:
    """Posteriors for peak-normalized 16 kHz mono audio; frame ``i`` is at ``i * HOP`` samples.

    ``bfloat16``: run the network (not the features) under bfloat16 autocast; ``None`` does so where the CPU
    has it natively (:func:`models.registry.native_bfloat16`).
    """
    import torch

    use_bfloat16 = native_bfloat16() if bfloat16 is None else bfloat16

    n_frames = audio_16k.shape[0] // HOP + 1
    padded = np.pad(audio_16k, (0, n_frames * HOP - audio_16k.shape[0]))
    blocks = padded.reshape(n_frames, HOP)  # (frames, HOP): one block of samples per output frame
    input_channels = int(getattr(model, "input_channels", 1))
    # The network's context plus the frames its features read: 1024 samples each side for the
    # short window (within the 8 spare frames), 4096 for the long one.
    context = int(getattr(model, "receptive_frames", 40)) + 8 + (LONG_WINDOW_HALF_FRAMES if input_channels > 1 else 0)

    def forward(chunk: np.ndarray) -> np.ndarray:
        features = model_features(chunk.reshape(-1), input_channels=input_channels)[: chunk.shape[0]]
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bfloat16):
            out = model(torch.from_numpy(features).unsqueeze(0))  # type: ignore[operator]
        heads = [torch.sigmoid(out.onset), torch.sigmoid(out.offset), torch.sigmoid(out.frame), out.velocity]
        return torch.stack([h.float() for h in heads], dim=2)[0].numpy().astype(np.float16)  # (frames, 4, 88)

    stacked = run_chunked(forward, blocks, chunk_frames=chunk_frames, context_frames=context,
                          progress=progress, cancel=cancel)
    values = stacked.astype(np.float32)
    return Posteriors(onset=values[:, 0], offset=values[:, 1], frame=values[:, 2], velocity=values[:, 3])


def transcribe(samples: np.ndarray, sr: int, *, model: object, settings: DecodeSettings | None = None,
               rescorers: Rescorers | None = None, keep_posteriors: bool = False,
               progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Transcription:
    """Transcribe piano audio (any rate, mono or multichannel) into notes; ``rescorers`` (see
    :func:`models.transcribe.rescorers.shipped_rescorers`) decide octave ghosts and re-strikes instead of
    the fixed rules.

    Silence and very short inputs give an empty result with a message rather than
    an error; low sample rates (8 kHz telephone audio) are resampled up and work
    with the frequencies they still hold.
    """
    duration_s = samples.shape[0] / sr if sr else 0.0
    messages = input_messages(sr, samples.shape[1] if samples.ndim == 2 else 1)
    audio = prepare_audio(samples, sr)
    check_cancel(cancel)
    peak = float(np.max(np.abs(audio), initial=0.0))
    if audio.shape[0] < HOP * 4 or peak < SILENCE_PEAK:
        reason = "too short" if audio.shape[0] < HOP * 4 else "silent"
        messages.append(f"input is {reason} ({duration_s:.2f} s): no notes")
        return Transcription(notes=(), duration_s=duration_s, sample_rate=sr, messages=tuple(messages))
    posteriors = predict(model, normalize_peak(audio, peak=peak), progress=scaled(progress, 0.0, 0.95),
                         cancel=cancel)
    notes = tuple(decode(posteriors, settings, rescorers=rescorers))
    if progress is not None:
        progress(1.0, "decoded")
    if not notes:
        messages.append("no piano notes detected")
    elif float(np.median([n.confidence for n in notes])) < LOW_CONFIDENCE:
        messages.append("onsets are unusually uncertain: the recording may not be solo piano")
    log.info("transcribed %.1f s: %d notes", duration_s, len(notes))
    return Transcription(notes=notes, duration_s=duration_s, sample_rate=sr, messages=tuple(messages),
                         posteriors=posteriors if keep_posteriors else None)
