"""Tune the dropout detector on TRAINING material (never the benchmark's held-out set).

Simulates dropouts exactly as the benchmark does, but on training-side clips with
other seeds, and prints precision/recall/F1 per dropout kind and material:

- ``piano`` and ``non-piano``: the training soundfont (FluidR3) at 44.1 kHz, the gap
  model's training clips plus renders of every other program the training set plays
  (e-piano, harpsichord, vibraphone, organ, guitar, violin, strings, flute,
  clarinet) from generated music and training corpus pieces, seeds of their own;
- ``music+hiss``: the same music with tape hiss (-80..-60 dBFS) recorded before the
  dropouts, so the dropouts take it along;
- ``speech+hiss``: training speech at 16 kHz, which carries a noise floor;
- ``speech clean``: training voices (espeak-ng) with no noise at all.

Run: python training/inpaint/tune_detect.py [--more | --fresh] [--verbose]
(--more: a second set of clips and dropout positions; --fresh: a third, with fresh
piano renders too, kept out of all tuning so far, to check that what was tuned holds.)
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.audio_io import resample
from models.inpaint.dataset import (
    OTHER_PROGRAMS,
    SENTENCES,
    TRAIN_VOICES,
    Clip,
    cache_dir,
    cached_music,
    espeak,
    music_clips,
    speech_clips,
)
from models.inpaint.detect import DetectParams, detect_dropouts
from models.inpaint.simulate import DetectionScore, score_detection, simulate_dropouts
from models.synth.sources import assert_trainable, training_soundfonts

MUSIC_SR = 44100
SPEECH_SR = 16000
#: GM programs 0-3 are pianos (the FreePats pianos use the same numbers).
PIANO_PROGRAMS = range(4)


@dataclass(frozen=True)
class Material:
    name: str
    clips: tuple[np.ndarray, ...]
    sr: int


def program_clips(programs: tuple[int, ...], *, per_program: int, seed_base: int) -> list[Clip]:
    """``per_program`` FluidR3 renders of each of ``programs``: generated music and training corpus pieces."""
    from models.synth.compositions import corpus_grid, corpus_paths, corpus_performance, generate_performance
    from models.synth.midi_render import render_midi

    soundfont = assert_trainable(training_soundfonts()[0])
    pieces = corpus_paths(split="train")
    rng = np.random.default_rng(seed_base)
    clips = []
    for program in programs:
        for index in range(per_program):
            seed = seed_base + 100 * program + index
            peak_dbfs = float(rng.uniform(-12, -1))
            piece = pieces[int(rng.integers(len(pieces)))] if index % 2 else None
            name = f"detect-{'corpus-' + piece.stem if piece else 'gen'}-{seed}-p{program}-{MUSIC_SR}"

            def render(seed: int = seed, program: int = program, peak_dbfs: float = peak_dbfs,
                       piece: Path | None = piece, name: str = name) -> np.ndarray:
                if piece is None:
                    performance = generate_performance(seed=seed, duration_s=20.0)
                else:
                    grid = corpus_grid(assert_trainable(piece))
                    performance = corpus_performance(grid, name=name, seed=seed, max_duration_s=20.0)
                return render_midi(performance, soundfont=soundfont, sr=MUSIC_SR, program=program,
                                   peak_dbfs=peak_dbfs)

            clips.append(cached_music(name, MUSIC_SR, render))
    return clips


def clean_speech_clips(*, count: int, seed: int) -> list[np.ndarray]:
    """Training voices reading sentences with short pauses, no noise floor at all, at 16 kHz."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    clips = []
    for index in range(count):
        path = cache_dir() / f"detect-clean-speech-{seed}-{index}.flac"
        if not path.exists():
            parts: list[np.ndarray] = []
            while sum(len(p) for p in parts) < 20 * 22050:
                sentence = SENTENCES[int(rng.integers(len(SENTENCES)))]
                parts.append(espeak(sentence, TRAIN_VOICES[int(rng.integers(len(TRAIN_VOICES)))],
                                     speed=int(rng.integers(140, 190))))
                parts.append(np.zeros(int(rng.uniform(0.05, 0.4) * 22050), dtype=np.float32))
            audio = resample(np.concatenate(parts), 22050, SPEECH_SR)
            audio = audio / (np.max(np.abs(audio)) + 1e-9) * 10 ** (rng.uniform(-12, -1) / 20)
            sf.write(str(path), audio.astype(np.float32), SPEECH_SR, subtype="PCM_24")
        samples, _ = sf.read(str(path), dtype="float64")
        clips.append(np.asarray(samples))
    return clips


def with_hiss(clips: list[np.ndarray], *, seed: int) -> tuple[np.ndarray, ...]:
    """The clips with white hiss at -80..-60 dBFS, as recorded on the tape (before its dropouts)."""
    rng = np.random.default_rng(seed)
    return tuple(c + rng.standard_normal(len(c)) * 10 ** (rng.uniform(-80, -60) / 20) for c in clips)


def program_of(clip: Clip) -> int:
    """The GM program in a cached clip's name (``...-p<program>[-<sr>]``)."""
    return int(clip.name.rsplit("-p", 1)[1].split("-")[0])


def materials(clip_set: int) -> list[Material]:
    """The materials of clip set 0 (the default), 1 (``--more``) or 2 (``--fresh``)."""
    if clip_set == 2:
        piano = [c.samples.astype(np.float64) for c in program_clips((0,), per_program=7, seed_base=430_000)]
        non_piano = [c.samples.astype(np.float64)
                     for c in program_clips(OTHER_PROGRAMS, per_program=2, seed_base=430_000)]
    else:
        everything = music_clips("train", count=10, sr=MUSIC_SR) + program_clips(
            OTHER_PROGRAMS, per_program=2, seed_base=(410_000, 420_000)[clip_set])
        piano = [c.samples.astype(np.float64) for c in everything if program_of(c) in PIANO_PROGRAMS]
        non_piano = [c.samples.astype(np.float64) for c in everything if program_of(c) not in PIANO_PROGRAMS]
    chosen = speech_clips("train", count=40)[(1, 0, 2)[clip_set] :: 4]
    speech = [resample(c.samples, 22050, SPEECH_SR).astype(np.float64) for c in chosen]
    half = (0, 1, 0)[clip_set]
    return [
        Material("piano", tuple(piano), MUSIC_SR),
        Material("non-piano", tuple(non_piano), MUSIC_SR),
        Material("music+hiss", with_hiss(piano[half::2] + non_piano[half::2], seed=30 + clip_set), MUSIC_SR),
        Material("speech+hiss", tuple(speech), SPEECH_SR),
        Material("speech clean", tuple(clean_speech_clips(count=8, seed=60 + clip_set)), SPEECH_SR),
    ]


#: (row, simulated kinds, detector): the presets' detectors as the benchmark runs them
#: (``dropouts-digital``; ``vhs-piano``, which looks for digital dropouts too), and the
#: tape detector alone, which shows what the tape logic does apart from digital runs.
KINDS = (("digital", ("digital_zeros", "held_value"), DetectParams(detect_tape=False)),
         ("tape", ("tape",), DetectParams()),
         ("tape-only", ("tape",), DetectParams(detect_digital=False)))


def main() -> None:
    verbose = "--verbose" in sys.argv
    clip_set = 2 if "--fresh" in sys.argv else int("--more" in sys.argv)
    print(f"{'material':13s} {'kind':9s} {'clips':>5s}  {'P':>5s} {'R':>5s} {'F1':>5s}  TP / FP / FN")
    detect_s = audio_s = 0.0
    for material in materials(clip_set):
        for kind, kinds, params in KINDS:
            total = DetectionScore(true_positives=0, false_positives=0, false_negatives=0)
            for index, clip in enumerate(material.clips):
                seed_kind = "tape" if kind == "tape-only" else kind  # the same dropouts as the "tape" row
                rng = np.random.default_rng([777 + clip_set, index, len(seed_kind), len(material.name)])
                damage = simulate_dropouts(clip, material.sr, rng=rng, count=10, kinds=kinds)  # type: ignore[arg-type]
                began = time.perf_counter()
                found = detect_dropouts(damage.samples, material.sr, params=params)
                detect_s += time.perf_counter() - began
                audio_s += len(clip) / material.sr
                score = score_detection(damage.gaps, found)
                total = DetectionScore(true_positives=total.true_positives + score.true_positives,
                                       false_positives=total.false_positives + score.false_positives,
                                       false_negatives=total.false_negatives + score.false_negatives)
                if verbose and (score.false_positives or score.false_negatives):
                    sr = material.sr
                    truth = [(round(g.start / sr, 3), round(g.end / sr, 3)) for g in damage.gaps]
                    got = [(round(g.start / sr, 3), round(g.end / sr, 3), round(g.confidence, 2)) for g in found]
                    print(f"  {material.name} {kind} clip {index}: truth {truth}\n    found {got}")
            print(f"{material.name:13s} {kind:9s} {len(material.clips):5d}  {total.precision:.3f} "
                  f"{total.recall:.3f} {total.f1:.3f}  {total.true_positives} / {total.false_positives} / "
                  f"{total.false_negatives}", flush=True)
    print(f"detection: {detect_s:.1f} s for {audio_s:.0f} s of audio ({audio_s / max(detect_s, 1e-9):.0f}x real time)")


if __name__ == "__main__":
    main()
