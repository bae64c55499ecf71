"""Render MIDI to audio with a soundfont through FluidSynth's command-line renderer.

Training data is synthesized: a :class:`~models.synth.compositions.Performance`
or any mido file goes in, a mono float32 array at the requested rate comes out.
The Debian ``fluidsynth`` program renders faster than real time, offline and
deterministically, and it honours the sustain pedal (CC64) and velocity layers
of the soundfont, which the transcriber must learn to hear.
FluidSynth's own reverb and chorus are off by default so the augmentation chain
decides the room, and the ground truth stays the dry performance.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from models.audio_io import resample
from models.errors import ModelError
from models.synth.compositions import Performance

#: FluidSynth renders at any rate in this range; other rates are resampled afterwards.
_FLUID_MIN_SR = 8000
_FLUID_MAX_SR = 96000


def fluidsynth_available() -> bool:
    return shutil.which("fluidsynth") is not None


def render_midi(midi: mido.MidiFile | Performance, *, soundfont: Path, sr: int, program: int | None = None,
                gain: float = 0.6, reverb: bool = False, chorus: bool = False,
                tail_s: float = 1.0, peak_dbfs: float | None = -1.0, render_sr: int | None = None) -> np.ndarray:
    """Render ``midi`` with ``soundfont`` to mono float32 samples at ``sr``.

    ``program`` (General MIDI, 0 = acoustic grand) overrides every program change
    so one file can be played on several instruments. The result covers the
    whole file plus ``tail_s`` of release; ``peak_dbfs`` normalizes its peak
    (``None`` keeps FluidSynth's level, which follows the velocities).
    ``render_sr`` lets FluidSynth synthesize at a higher rate than ``sr`` (then
    resampled): its sample interpolation aliases less at 32 kHz than at 16 kHz.
    """
    if not fluidsynth_available():
        raise ModelError("the fluidsynth program is not installed (Debian package fluidsynth)")
    if isinstance(midi, Performance):
        midi = midi.to_midi(program=program or 0)
    elif program is not None:
        midi = _with_program(midi, program)
    render_sr = int(np.clip(render_sr or sr, _FLUID_MIN_SR, _FLUID_MAX_SR))
    with tempfile.TemporaryDirectory(prefix="reamend-render-") as tmp:
        mid_path = Path(tmp) / "in.mid"
        wav_path = Path(tmp) / "out.wav"
        midi.save(str(mid_path))
        command = [
            "fluidsynth", "-ni", "-q", "-g", f"{gain:.3f}", "-r", str(render_sr), "-T", "wav", "-O", "float",
            "-R", "1" if reverb else "0", "-C", "1" if chorus else "0", "-F", str(wav_path),
            str(soundfont), str(mid_path),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav_path.exists():
            raise ModelError(f"fluidsynth failed ({result.returncode}): {result.stderr.strip()[-400:]}")
        samples, file_sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1).astype(np.float32)
    if file_sr != sr:
        mono = resample(mono, int(file_sr), sr)
    wanted = round((midi.length + tail_s) * sr)
    if mono.shape[0] < wanted:
        mono = np.pad(mono, (0, wanted - mono.shape[0]))
    mono = mono[:wanted]
    if peak_dbfs is not None:
        peak = float(np.max(np.abs(mono), initial=0.0))
        if peak > 1e-6:
            mono = mono * np.float32(10 ** (peak_dbfs / 20) / peak)
    return mono.astype(np.float32, copy=False)


def _with_program(midi: mido.MidiFile, program: int) -> mido.MidiFile:
    """A copy of ``midi`` whose every channel plays ``program`` (drums on channel 10 stay drums)."""
    copy = mido.MidiFile(type=midi.type, ticks_per_beat=midi.ticks_per_beat)
    for track in midi.tracks:
        new_track = mido.MidiTrack()
        channels = {m.channel for m in track if hasattr(m, "channel")}
        inserted = False
        for message in track:
            if message.type == "program_change":
                new_track.append(message.copy(program=program))
                inserted = True
                continue
            if not inserted and channels and not message.is_meta:
                for channel in sorted(channels - {9}):
                    new_track.append(mido.Message("program_change", channel=channel, program=program, time=0))
                inserted = True
            new_track.append(message)
        copy.tracks.append(new_track)
    return copy
