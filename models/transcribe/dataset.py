"""Synthesized training and validation material for the transcriber, cached on disk.

Training items: a performance (a music21 corpus piece or a generated texture,
alternately), rendered with FluidR3 on one of several piano programs at 32 kHz,
resampled to 16 kHz, degraded by a random augmentation chain, peak-normalized
and turned into the network's features. Items are written in shards of
:data:`SHARD_ITEMS` as ``.npz`` (features float16 plus the sounding notes), so
rendering happens once and training reads compact arrays. Shards for two-channel
networks (short and long window, ``input_channels=2``) live in ``train-2ch/``; an
item's audio is the same in both (every random choice is seeded by its index).

Validation material is rendered with the held-out TimGM6mb soundfont from
held-out corpus pieces and held-out generator seeds, as audio files plus note
lists, clean and tape-degraded: the benchmark runs any transcriber, basic-pitch
included, on the same files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models.atomic import atomic_path, write_text_atomic
from models.audio_io import resample
from models.synth import compositions
from models.synth.additive_piano import random_piano, render_additive
from models.synth.mda_piano import random_voicing, render_mda
from models.synth.midi_render import render_midi
from models.synth.sources import assert_trainable, training_soundfonts, validation_soundfonts
from models.synth.timidity_render import render_freepats
from models.transcribe import augment
from models.transcribe.features import SAMPLE_RATE, model_features, normalize_peak
from models.transcribe.labels import notes_array

log = logging.getLogger(__name__)

SHARD_ITEMS = 16
ITEM_DURATION_S = 30.0
RENDER_SR = 32000
#: GM programs used for training: grand, bright, electric grand, honky-tonk, and (rarely) Rhodes.
TRAIN_PROGRAMS = (0, 0, 0, 1, 1, 2, 3, 4)
#: Training material: FluidR3 (FluidSynth) and, in shards of their own, the FreePats pianos (TiMidity++),
#: "low": other music transposed down into the bass, on either piano (see :func:`transposed_down`), and
#: "restrike": keys struck again while they still sound (:func:`compositions.restrike_performance`), on either;
#: "additive": a new procedural piano per item (:mod:`models.synth.additive_piano`), a quarter of it re-strike music;
#: "mda": the mda Piano's recordings with a new random voicing per item (:mod:`models.synth.mda_piano`), a quarter
#: of it re-strike music. Each source's items take their performances from the item index plus its offset
#: here, so every source but FluidR3 plays music of its own ("restrike" items seed their music there).
ITEM_OFFSETS = {"fluidr3": 0, "freepats": 1_000_000, "low": 2_000_000, "restrike": 3_000_000, "additive": 4_000_000,
                "mda": 5_000_000}
SOURCES = tuple(ITEM_OFFSETS)
#: FreePats programs: acoustic grand (most), bright grand, electric grand.
FREEPATS_PROGRAMS = (0, 0, 0, 1, 1, 2)
#: How far "low" items are transposed down, in semitones (inclusive range).
LOW_TRANSPOSE_SEMITONES = (8, 20)
VALIDATION_SR = 22050


@dataclass(frozen=True)
class Item:
    """One training excerpt: features ``(frames, bins)`` or ``(frames, 2, bins)`` float16, notes ``(n, 4)``."""

    features: np.ndarray
    notes: np.ndarray


def corpus_grid_cached(path: Path, cache_dir: Path) -> list[tuple[int, float, float, int]]:
    """Parse a corpus score once; later calls read the cached JSON."""
    assert_trainable(path)
    key = f"{path.parent.name}-{path.stem}.json"
    cached = cache_dir / key
    if cached.exists():
        return [(int(p), float(b), float(n), int(v)) for p, b, n, v in json.loads(cached.read_text())]
    try:
        grid = compositions.corpus_grid(path)
    except Exception as exc:  # music21 raises many types on odd files; skip those scores
        log.warning("cannot parse %s: %s", path, exc)
        grid = []
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cached, json.dumps(grid))
    return grid


def performance_for(index: int, *, split: str, cache_dir: Path,
                    duration_s: float = ITEM_DURATION_S) -> compositions.Performance:
    """The ``index``-th performance of ``split``: corpus pieces and generated music alternate."""
    rng = np.random.default_rng(index * 7919 + (0 if split == "train" else 10_000_019))
    seed = int(rng.integers(2**31))
    if index % 2 == 0:
        paths = compositions.corpus_paths(split=split)
        for attempt in range(8):
            path = paths[int(rng.integers(len(paths)))]
            grid = corpus_grid_cached(path, cache_dir / "corpus")
            if len(grid) < 20:
                continue
            performance = compositions.corpus_performance(grid, name=f"{path.parent.name}/{path.stem}",
                                                          seed=seed + attempt)
            start = float(rng.uniform(0, max(0.0, performance.duration_s - duration_s)))
            cropped = performance.cropped(start, start + duration_s)
            if len(cropped.notes) >= 10:
                return cropped
    generator_seed = seed if split == "train" else 1_000_000 + seed
    return compositions.generate_performance(seed=generator_seed, duration_s=duration_s)


def transposed_down(performance: compositions.Performance, semitones: int) -> compositions.Performance:
    """``performance`` moved down by ``semitones``, without the notes that fall below the keyboard.

    The music the generators and the corpus give puts under 2 % of notes below C2, and the
    model trained on it found none of them on the held-out piano; the same textures played an
    octave or so lower teach the bass register (dense left-hand figures included) on real renders.
    """
    notes = tuple(replace(note, pitch=note.pitch - semitones) for note in performance.notes
                  if note.pitch - semitones >= compositions.PIANO_LOW)
    return replace(performance, name=f"{performance.name} (-{semitones})", notes=notes)


def render_training_item(index: int, *, cache_dir: Path, source: str = "fluidr3", input_channels: int = 1) -> Item:
    """Training item ``index`` of ``source``: FluidR3 through FluidSynth, the FreePats pianos through
    TiMidity++, "low" (music transposed down into the bass) or "restrike" (re-struck ringing keys), the
    last two on FluidR3 or FreePats by item parity, "additive" (a random procedural piano per item) or
    "mda" (the mda Piano, a random voicing per item), one "additive" or "mda" item in four playing
    re-strike music; every source but FluidR3 draws its performances from an index range of its own
    (other music)."""
    if source not in SOURCES:
        raise ValueError(f"unknown training source {source!r}; known: {SOURCES}")
    index += ITEM_OFFSETS[source]
    piano = ("freepats" if index % 2 else "fluidr3") if source in ("low", "restrike") else source
    rng = np.random.default_rng(index + 1234567)
    if source == "restrike" or (source in ("additive", "mda") and index % 4 == 3):
        performance = compositions.restrike_performance(seed=int(rng.integers(2**31)), duration_s=ITEM_DURATION_S)
    else:
        performance = performance_for(index, split="train", cache_dir=cache_dir)
    if source == "low":
        low, high = LOW_TRANSPOSE_SEMITONES
        performance = transposed_down(performance, int(rng.integers(low, high + 1)))
    if piano == "additive":
        audio = render_additive(performance, sr=SAMPLE_RATE, piano=random_piano(rng), rng=rng)
    elif piano == "mda":
        audio = render_mda(performance, sr=SAMPLE_RATE, voicing=random_voicing(rng), render_sr=RENDER_SR)
    elif piano == "freepats":
        audio = render_freepats(performance, sr=SAMPLE_RATE, program=int(rng.choice(FREEPATS_PROGRAMS)),
                                render_sr=RENDER_SR)
    else:
        audio = render_midi(performance, soundfont=training_soundfonts()[0], sr=SAMPLE_RATE, render_sr=RENDER_SR,
                            program=int(rng.choice(TRAIN_PROGRAMS)), peak_dbfs=None)
    audio = augment.random_chain(audio, SAMPLE_RATE, rng)
    features = model_features(normalize_peak(audio), input_channels=input_channels).astype(np.float16)
    notes = notes_array([(n.pitch, n.start_s, n.end_s, n.velocity) for n in performance.sounding_notes()])
    return Item(features=features, notes=notes)


def _shard_prefix(source: str) -> str:
    """File name prefix of a source's shards (FluidR3's keep the original ``shard-`` names)."""
    return "shard" if source == "fluidr3" else source


def _shard_folder(cache_dir: Path, input_channels: int) -> Path:
    return cache_dir / ("train" if input_channels == 1 else f"train-{input_channels}ch")


def shard_path(cache_dir: Path, shard: int, source: str = "fluidr3", input_channels: int = 1) -> Path:
    return _shard_folder(cache_dir, input_channels) / f"{_shard_prefix(source)}-{shard:04d}.npz"


def build_shard(shard: int, *, cache_dir: Path, source: str = "fluidr3", input_channels: int = 1) -> Path:
    """Render and store training shard ``shard`` of ``source`` (items ``shard * SHARD_ITEMS`` onward)."""
    path = shard_path(cache_dir, shard, source, input_channels)
    if path.exists():
        return path
    items = [render_training_item(shard * SHARD_ITEMS + k, cache_dir=cache_dir, source=source,
                                  input_channels=input_channels) for k in range(SHARD_ITEMS)]
    lengths = np.array([item.features.shape[0] for item in items])
    note_counts = np.array([item.notes.shape[0] for item in items])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, features=np.concatenate([i.features for i in items]), lengths=lengths,
                 notes=np.concatenate([i.notes for i in items]), note_counts=note_counts)
    log.info("built %s", path.name)
    return path


def load_shard(path: Path) -> list[Item]:
    with np.load(path) as data:
        features, lengths = data["features"], data["lengths"]
        notes, counts = data["notes"], data["note_counts"]
    frame_bounds = np.concatenate([[0], np.cumsum(lengths)])
    note_bounds = np.concatenate([[0], np.cumsum(counts)])
    return [Item(features=features[frame_bounds[i]:frame_bounds[i + 1]],
                 notes=notes[note_bounds[i]:note_bounds[i + 1]]) for i in range(len(lengths))]


def existing_shards(cache_dir: Path, source: str = "fluidr3", input_channels: int = 1) -> list[Path]:
    return sorted(_shard_folder(cache_dir, input_channels).glob(f"{_shard_prefix(source)}-*.npz"))


# --------------------------------------------------------------------------- validation set

@dataclass(frozen=True)
class ValidationPiece:
    """A held-out rendering: ``audio`` files by condition ("clean", "tape") and the ground truth."""

    name: str
    audio: dict[str, Path]
    notes: Path


def build_validation(cache_dir: Path, *, count: int = 24, duration_s: float = 30.0,
                     start: int = 0) -> list[ValidationPiece]:
    """Render held-out pieces ``start`` to ``start + count - 1`` with the validation soundfont, clean and
    tape-degraded."""
    import soundfile as sf

    folder = cache_dir / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    font = validation_soundfonts()[0]
    pieces = []
    for index in range(start, start + count):
        stem = f"val-{index:03d}"
        notes_path = folder / f"{stem}.notes.json"
        paths = {"clean": folder / f"{stem}.clean.flac", "tape": folder / f"{stem}.tape.flac"}
        if not (notes_path.exists() and all(p.exists() for p in paths.values())):
            performance = performance_for(index, split="validation", cache_dir=cache_dir, duration_s=duration_s)
            audio = render_midi(performance, soundfont=font, sr=VALIDATION_SR, render_sr=44100, program=0)
            rng = np.random.default_rng(index + 777)
            tape = normalize_peak(augment.tape(audio, VALIDATION_SR, rng))
            for condition, samples in (("clean", audio), ("tape", tape)):
                with atomic_path(paths[condition]) as tmp:
                    sf.write(str(tmp), samples, VALIDATION_SR, format="FLAC", subtype="PCM_16")
            truth = [{"pitch": n.pitch, "start_s": n.start_s, "end_s": n.end_s, "velocity": n.velocity}
                     for n in performance.sounding_notes()]
            write_text_atomic(notes_path, json.dumps({"name": performance.name, "notes": truth}))
        name = json.loads(notes_path.read_text())["name"]
        pieces.append(ValidationPiece(name=name, audio=paths, notes=notes_path))
    return pieces


def extra_selection_pieces(cache_dir: Path, *, count: int, avoid: set[str], first_index: int,
                           duration_s: float = 30.0) -> list[ValidationPiece]:
    """``count`` more validation pieces from index ``first_index`` on, skipping every piece whose music
    (score or generator seed) is in ``avoid``: selection pieces for choosing decodings, never
    sharing music with the benchmark pieces (held-out corpus scores are drawn with replacement, so a
    later index can repeat a benchmark piece's score)."""
    chosen: list[ValidationPiece] = []
    index = first_index
    while len(chosen) < count and index < first_index + 8 * count:
        piece = build_validation(cache_dir, count=1, duration_s=duration_s, start=index)[0]
        if piece.name not in avoid:
            chosen.append(piece)
        index += 1
    return chosen


def read_truth(path: Path) -> np.ndarray:
    """Ground-truth notes ``(n, 4)``: pitch, start_s, end_s, velocity."""
    data = json.loads(path.read_text())
    return notes_array([(n["pitch"], n["start_s"], n["end_s"], n["velocity"]) for n in data["notes"]])


def validation_audio_16k(path: Path) -> np.ndarray:
    import soundfile as sf

    samples, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(samples.mean(axis=1), int(sr), SAMPLE_RATE)


def iter_items(paths: list[Path]) -> Iterator[Item]:
    for path in paths:
        yield from load_shard(path)
