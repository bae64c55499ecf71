"""Regenerate ``examples/piano.flac`` and its ground truth ``examples/piano.mid``.

A held-out composition (Clara Schumann, piano trio op. 17, third movement, from
music21's corpus; in the validation split) performed with the humanizer and
rendered with the held-out TimGM6mb soundfont, so the example is material the
transcriber never trained on. ``piano.mid`` holds the key presses and the
sustain pedal (CC64) exactly as rendered.

    python training/transcribe/make_example.py
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from models.synth.compositions import corpus_grid, corpus_paths, corpus_performance
from models.synth.midi_render import render_midi
from models.synth.sources import validation_soundfonts

REPO = Path(__file__).resolve().parents[2]
PIECE = "schumann_clara/opus17/movement3"
START_S, DURATION_S = 4.0, 20.0
SAMPLE_RATE = 22050


def main() -> None:
    (path,) = [p for p in corpus_paths(split="validation") if str(p).endswith(PIECE + ".xml")]
    performance = corpus_performance(corpus_grid(path), name="Clara Schumann op. 17/iii", seed=18, tempo_bpm=96.0)
    excerpt = performance.cropped(START_S, START_S + DURATION_S)
    audio = render_midi(excerpt, soundfont=validation_soundfonts()[0], sr=SAMPLE_RATE, render_sr=44100,
                        program=0, tail_s=1.0)
    out = REPO / "examples"
    sf.write(str(out / "piano.flac"), audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    excerpt.to_midi(program=0, tempo_bpm=96.0).save(str(out / "piano.mid"))
    print(f"{len(excerpt.notes)} notes, {len(excerpt.pedal)} pedal spans, {audio.shape[0] / SAMPLE_RATE:.1f} s")


if __name__ == "__main__":
    main()
