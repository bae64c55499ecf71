"""Render a performance on the mda Piano: a third real sampled piano, played by SuperCollider offline.

The transcriber's training pianos were FluidR3 (FluidSynth), the FreePats set
(TiMidity++) and procedural ones (:mod:`models.synth.additive_piano`); what it
misses most on the validation piano are re-strikes of ringing keys, whose sound
depends on how each instrument restarts a sounding string, so more real pianos
were the next lever. Paul Kellett's mda Piano (MIT/GPL) plays its own multisampled recordings
through a damper, hardness and muffling model; the Debian package
``sc3-plugins-server`` ships it as the ``MdaPiano`` UGen, which ``scsynth``
(``supercollider-server``) renders offline (non-real-time, no audio device) from
a score that :mod:`supriya` writes. Its voicing controls (hardness, muffling,
decay, damper release, velocity curves, stretch tuning, random detuning) are
drawn per item from wide ranges, so one sample set gives many instruments.

A note's synth is released at its *sounding* end (key release, or the pedal's
release while the pedal holds it; :meth:`Performance.sounding_notes`), which
ends a ringing key's voice at its next strike, as a new blow replaces a real
string's vibration.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from models.audio_io import resample
from models.errors import ModelError
from models.synth.compositions import Performance
from models.synth.sources import assert_trainable

MDA_PLUGIN = Path("/usr/lib/SuperCollider/plugins/MdaUGens.so")
SYNTHDEF_NAME = "reamend_mda_piano"


@dataclass(frozen=True)
class MdaVoicing:
    """The mda Piano's voicing controls, each normalized to ``[0, 1]`` as the UGen takes them."""

    decay: float = 0.8
    release: float = 0.8
    hard: float = 0.8
    velhard: float = 0.8
    muffle: float = 0.8
    velmuff: float = 0.8
    velcurve: float = 0.8
    stereo: float = 0.2
    random: float = 0.1
    stretch: float = 0.1


#: Ranges the voicing is drawn from: wide, but short of settings that stop sounding like a piano
#: (decay near 0 cuts every note within ~100 ms; muffle near 0 leaves only the fundamental).
VOICING_RANGES: dict[str, tuple[float, float]] = {
    "decay": (0.35, 0.95), "release": (0.15, 0.85), "hard": (0.2, 0.95), "velhard": (0.3, 1.0),
    "muffle": (0.45, 1.0), "velmuff": (0.3, 1.0), "velcurve": (0.35, 1.0), "stereo": (0.0, 0.6),
    "random": (0.0, 0.3), "stretch": (0.0, 0.5),
}


def random_voicing(rng: np.random.Generator) -> MdaVoicing:
    """One instrument: every control uniform in :data:`VOICING_RANGES`."""
    return MdaVoicing(**{name: float(rng.uniform(*VOICING_RANGES[name])) for name in VOICING_RANGES})


def mda_available() -> bool:
    """Whether ``scsynth``, the MdaPiano UGen and :mod:`supriya` are all installed."""
    if shutil.which("scsynth") is None or not MDA_PLUGIN.exists():
        return False
    try:
        import supriya  # noqa: F401
    except ImportError:
        return False
    return True


def render_mda(performance: Performance, *, sr: int, voicing: MdaVoicing | None = None, render_sr: int = 32000,
               tail_s: float = 1.0) -> np.ndarray:
    """Mono float32 samples at ``sr`` of ``performance`` on the mda Piano (unnormalized level, which
    follows the velocities), covering the performance plus ``tail_s`` of release."""
    if not mda_available():
        raise ModelError("rendering the mda Piano needs the Debian packages supercollider-server and "
                         "sc3-plugins-server, and the Python package supriya")
    assert_trainable(MDA_PLUGIN)
    import supriya

    synthdef = _synthdef()
    controls = asdict(voicing or MdaVoicing())
    notes = sorted(performance.sounding_notes(), key=lambda n: (n.start_s, n.pitch))
    duration_s = max([performance.duration_s, *(n.end_s for n in notes)], default=0.0) + tail_s
    score = supriya.Score(output_bus_channel_count=2)
    with score.at(0.0):
        score.add_synthdefs(synthdef)
    for note in notes:
        with score.at(note.start_s):
            synth = score.add_synth(synthdef, freq=440.0 * 2.0 ** ((note.pitch - 69) / 12), vel=float(note.velocity),
                                    **controls)
        with score.at(max(note.end_s, note.start_s + 0.005)):
            synth.set(gate=0.0)
    with score.at(duration_s):
        score.do_nothing()
    # scsynth is run here rather than through supriya.render, whose asyncio subprocess leaks a transport.
    datagram = b"".join(struct.pack(">i", len(piece)) + piece for piece in score.iterate_datagrams())
    with tempfile.TemporaryDirectory(prefix="reamend-mda-") as tmp:
        score_path, out = Path(tmp) / "score.osc", Path(tmp) / "out.wav"
        score_path.write_bytes(datagram)
        command = ["scsynth", "-o", "2", "-N", str(score_path), "_", str(out), str(render_sr), "wav", "float"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not out.exists():
            raise ModelError(f"scsynth failed to render the mda Piano ({result.returncode}): "
                             f"{(result.stderr or result.stdout).strip()[-400:]}")
        samples, file_sr = sf.read(str(out), dtype="float32", always_2d=True)
    mono = resample(samples.mean(axis=1).astype(np.float32), int(file_sr), sr)
    wanted = round(duration_s * sr)
    mono = np.pad(mono, (0, max(0, wanted - mono.shape[0])))[:wanted]
    return mono.astype(np.float32, copy=False)


@lru_cache(maxsize=1)
def _synthdef() -> Any:
    """One note of the mda Piano, freed once released and silent."""
    from supriya import SynthDefBuilder
    from supriya.ugens import DetectSilence, Out, UGen, param, ugen

    @ugen(ar=True, channel_count=2, fixed_channel_count=True)
    class MdaPiano(UGen):  # the inputs in the order of sc3-plugins' MdaUGens.sc
        freq = param(440.0)
        gate = param(1.0)
        vel = param(100.0)
        decay = param(0.8)
        release = param(0.8)
        hard = param(0.8)
        velhard = param(0.8)
        muffle = param(0.8)
        velmuff = param(0.8)
        velcurve = param(0.8)
        stereo = param(0.2)
        tune = param(0.5)
        random = param(0.1)
        stretch = param(0.1)
        sustain = param(0.0)

    defaults: dict[str, float] = asdict(MdaVoicing())
    # supriya's @ugen decorator adds the ``.ar`` constructors at run time, where mypy cannot see them.
    with SynthDefBuilder(freq=440.0, gate=1.0, vel=100.0, **defaults) as builder:
        voice = MdaPiano.ar(freq=builder["freq"], gate=builder["gate"], vel=builder["vel"],  # type: ignore[attr-defined]
                            **{name: builder[name] for name in defaults})
        # Free the node once it has been silent for a while; the gate-off started its damper.
        DetectSilence.ar(source=voice[0] + voice[1], threshold=1e-5, time=0.2,  # type: ignore[attr-defined]
                         done_action=2)
        Out.ar(bus=0, source=voice)  # type: ignore[attr-defined]
    return builder.build(name=SYNTHDEF_NAME)
