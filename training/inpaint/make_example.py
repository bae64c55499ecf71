"""Render examples/piano-dropouts.flac: held-out piano with simulated tape and digital dropouts.

Material: a generated piece (held-out seed) played with the validation soundfont
(TimGM6mb), never trained on. Damage: four tape dropouts and three digital
dropouts at fixed places, written to training/inpaint/example_truth.json.
Run: python training/inpaint/make_example.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from models.inpaint.simulate import apply_digital, apply_tape
from models.synth.compositions import generate_performance
from models.synth.midi_render import render_midi
from models.synth.sources import validation_soundfonts

ROOT = Path(__file__).resolve().parents[2]
SR = 22050
TAPE = ((2.10, 0.060), (5.30, 0.240), (8.80, 0.450), (12.40, 0.120))
DIGITAL = ((3.70, 0.012, False), (7.15, 0.030, True), (10.60, 0.080, False))


def main() -> None:
    soundfont = validation_soundfonts()[0]
    performance = generate_performance(seed=900_001, texture="arpeggio", duration_s=15.0, tempo_bpm=96.0)
    clean = render_midi(performance, soundfont=soundfont, sr=SR, peak_dbfs=-3.0).astype(np.float64)[: 15 * SR]
    rng = np.random.default_rng(900_001)
    damaged = clean.copy()
    truth = []
    for start_s, length_s in TAPE:
        start, end = int(start_s * SR), int((start_s + length_s) * SR)
        damaged = apply_tape(damaged, SR, start, end, rng=rng)
        truth.append({"start_s": start_s, "end_s": start_s + length_s, "kind": "tape"})
    # Tape hiss, as on a VHS hi-fi track played back; digital dropouts happen after digitizing.
    damaged += 10 ** (-62 / 20) * rng.standard_normal(len(damaged))
    for start_s, length_s, held in DIGITAL:
        start, end = int(start_s * SR), int((start_s + length_s) * SR)
        damaged = apply_digital(np.round(damaged * 32767) / 32767, start, end, held=held)
        truth.append({"start_s": start_s, "end_s": start_s + length_s,
                      "kind": "held_value" if held else "digital_zeros"})
    sf.write(ROOT / "examples" / "piano-dropouts.flac", np.clip(damaged, -1, 1), SR, subtype="PCM_16")
    (ROOT / "training" / "inpaint" / "example_truth.json").write_text(
        json.dumps(sorted(truth, key=lambda g: g["start_s"]), indent=2) + "\n")


if __name__ == "__main__":
    main()
