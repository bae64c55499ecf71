"""Render a performance with TiMidity++ and the FreePats piano: a second, independent piano sound.

FluidSynth plays SoundFonts; the FreePats set (Debian ``freepats``) is in
Gravis patch format, which TiMidity++ (Debian ``timidity``) plays. Its acoustic
and bright grand pianos are separate recordings from FluidR3's, so training on
both teaches a transcriber what *a* piano sounds like rather than one sample
set. (The csound ``sf_GMbank.sf2`` piano is not such a source: it shares its
samples with TimGM6mb, the soundfont the transcriber is validated on.)
TiMidity's reverb and chorus are off, so the augmentation chain decides the room.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from models.audio_io import resample
from models.errors import ModelError
from models.synth.compositions import Performance
from models.synth.sources import assert_trainable

FREEPATS_CONFIG = Path("/etc/timidity/freepats.cfg")
#: General MIDI programs FreePats has a piano patch for: acoustic grand, bright, electric grand.
FREEPATS_PIANO_PROGRAMS = (0, 1, 2)


def timidity_available() -> bool:
    return shutil.which("timidity") is not None and FREEPATS_CONFIG.exists()


def render_freepats(performance: Performance, *, sr: int, program: int = 0, render_sr: int = 32000,
                    tail_s: float = 1.0) -> np.ndarray:
    """Mono float32 samples at ``sr`` of ``performance`` on FreePats ``program`` (unnormalized level,
    which follows the velocities), covering the performance plus ``tail_s`` of release."""
    if not timidity_available():
        raise ModelError("rendering with FreePats needs the Debian packages timidity and freepats")
    if program not in FREEPATS_PIANO_PROGRAMS:
        raise ModelError(f"FreePats has no piano on program {program}; use one of {FREEPATS_PIANO_PROGRAMS}")
    config = assert_trainable(FREEPATS_CONFIG)
    midi = performance.to_midi(program=program)
    with tempfile.TemporaryDirectory(prefix="reamend-timidity-") as tmp:
        mid_path, wav_path = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        midi.save(str(mid_path))
        command = ["timidity", "-c", str(config), "-Ow", "--output-mono", "--preserve-silence", "-s", str(render_sr),
                   "-EFreverb=0", "-EFchorus=0", "-o", str(wav_path), str(mid_path)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav_path.exists():
            raise ModelError(f"timidity failed ({result.returncode}): {result.stderr.strip()[-400:]}")
        samples, file_sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    mono = resample(samples.mean(axis=1).astype(np.float32), int(file_sr), sr)
    wanted = round((midi.length + tail_s) * sr)
    mono = np.pad(mono, (0, max(0, wanted - mono.shape[0])))[:wanted]
    return mono.astype(np.float32, copy=False)
