"""Piano performances to synthesize: real compositions and generated textures, humanized.

Transcription and inpainting models learn from rendered MIDI, so the MIDI has to
sound like a pianist played it: uneven velocities that follow phrases, onsets a
few milliseconds off the grid, legato overlaps, staccato, rolled chords and the
sustain pedal. Two sources feed the same :class:`Performance` type:

* :func:`corpus_performance` reads a score from music21's bundled corpus (Bach,
  Mozart, Beethoven, Schumann, Joplin, ...) and performs it at a chosen tempo;
* :func:`generate_performance` writes procedural piano music in one of
  :data:`TEXTURES` (Alberti bass, block chords, arpeggios, runs, waltz,
  octaves, repeated notes and trills, sparse notes over the whole keyboard, dense
  atonal polyphony) so every key, tempo and articulation is covered.

:meth:`Performance.to_midi` turns either into a mido file for the renderer, and
:meth:`Performance.sounding_notes` gives the ground truth a listener hears: note
ends held by the pedal are extended to the pedal release, which is what the
transcriber is trained to report.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import mido
import numpy as np

from models.midi import MidiNote, piano_midi

PIANO_LOW = 21
PIANO_HIGH = 108

#: Procedural textures :func:`generate_performance` knows.
TEXTURES = ("alberti", "chords", "arpeggio", "runs", "waltz", "octaves", "repeated", "sparse", "polyphony",
            "chorale")

#: Corpus folders with polyphonic music that suits a piano (monophonic folk collections are left out).
CORPUS_COLLECTIONS = ("bach", "beethoven", "mozart", "haydn", "schumann_robert", "schumann_clara", "joplin",
                      "chopin", "handel", "corelli", "cpebach", "schubert", "weber", "beach", "monteverdi",
                      "josquin", "verdi", "demos")


@dataclass(frozen=True)
class Note:
    """One key press: ``end_s`` is the key release (the pedal may hold the sound longer)."""

    pitch: int
    start_s: float
    end_s: float
    velocity: int


@dataclass(frozen=True)
class PedalSpan:
    """Sustain pedal held down from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float


@dataclass(frozen=True)
class Performance:
    """A humanized piano performance: key presses plus sustain pedal, in seconds."""

    name: str
    notes: tuple[Note, ...]
    pedal: tuple[PedalSpan, ...] = ()

    @property
    def duration_s(self) -> float:
        ends = [n.end_s for n in self.notes] + [p.end_s for p in self.pedal]
        return max(ends, default=0.0)

    def sounding_notes(self) -> tuple[Note, ...]:
        """Notes with their ends moved to the pedal release while the pedal holds them.

        A re-struck key cuts the previous sound of that pitch, so an extended note
        never runs past the next onset of the same pitch.
        """
        extended: list[Note] = []
        for note in self.notes:
            end = note.end_s
            for span in self.pedal:
                if span.start_s <= end < span.end_s:
                    end = span.end_s
                    break
            extended.append(replace(note, end_s=end))
        extended.sort(key=lambda n: (n.pitch, n.start_s))
        result: list[Note] = []
        for i, note in enumerate(extended):
            nxt = extended[i + 1] if i + 1 < len(extended) else None
            if nxt is not None and nxt.pitch == note.pitch and nxt.start_s < note.end_s:
                note = replace(note, end_s=max(nxt.start_s, note.start_s + 0.01))
            result.append(note)
        result.sort(key=lambda n: (n.start_s, n.pitch))
        return tuple(result)

    def cropped(self, start_s: float, end_s: float) -> Performance:
        """The notes that start inside ``[start_s, end_s)``, shifted to start at zero and clipped."""
        notes = tuple(
            Note(n.pitch, n.start_s - start_s, min(n.end_s, end_s) - start_s, n.velocity)
            for n in self.notes if start_s <= n.start_s < end_s
        )
        pedal = tuple(
            PedalSpan(max(p.start_s, start_s) - start_s, min(p.end_s, end_s) - start_s)
            for p in self.pedal if p.end_s > start_s and p.start_s < end_s
        )
        return Performance(self.name, notes, pedal)

    def to_midi(self, *, program: int = 0, ppq: int = 480, tempo_bpm: float = 120.0) -> mido.MidiFile:
        """A type-1 MIDI file: a tempo track and one piano track with pedal (CC64) events."""
        return piano_midi((MidiNote(n.pitch, n.start_s, n.end_s, int(n.velocity)) for n in self.notes),
                          pedal=((span.start_s, span.end_s) for span in self.pedal),
                          tempo_bpm=tempo_bpm, ppq=ppq, program=program, name=self.name)


# --------------------------------------------------------------------------- humanizing

@dataclass(frozen=True)
class _Grid:
    """A score-time note before humanizing: times in beats, ``voice`` 0 = melody."""

    pitch: int
    beat: float
    length_beats: float
    voice: int
    accent: float = 0.0


def _humanize(name: str, grid: Sequence[_Grid], *, tempo_bpm: float, rng: np.random.Generator,
              pedal_beats: Sequence[tuple[float, float]] = (), legato: float | None = None,
              restrike_gap_s: tuple[float, float] | None = None) -> Performance:
    """Turn score-time notes into a performance with velocity phrasing, timing and articulation.

    ``restrike_gap_s`` (low, high): a key played legato into its own next note is released a random
    time in this range before the re-strike (a pianist's repetition: the key rises only part way);
    by default exactly 10 ms.
    """
    sec_per_beat = 60.0 / tempo_bpm
    base_velocity = rng.uniform(35, 95)
    phrase_beats = rng.choice([4.0, 8.0, 16.0])
    swell = rng.uniform(5, 25)
    spread = rng.uniform(4, 14)
    melody_boost = rng.uniform(0, 18)
    jitter_s = rng.uniform(0.002, 0.015)
    legato = rng.uniform(0.5, 1.15) if legato is None else legato
    roll_s = rng.uniform(0.0, 0.03) if rng.random() < 0.3 else 0.0
    drift = rng.uniform(-0.15, 0.15)  # gradual accelerando / ritardando over the piece
    total_beats = max((g.beat + g.length_beats for g in grid), default=1.0)

    def seconds(beat: float) -> float:
        # Tempo changing linearly by ``drift`` across the piece: integrate 1 / tempo.
        frac = beat / total_beats
        return sec_per_beat * beat * (1.0 - drift * frac / 2.0)

    notes: list[Note] = []
    chord_index: dict[float, int] = {}
    for g in grid:
        order = chord_index.get(g.beat, 0)
        chord_index[g.beat] = order + 1
        phase = 2 * math.pi * (g.beat % phrase_beats) / phrase_beats
        velocity = (base_velocity + swell * math.sin(phase - math.pi / 2) * 0.5 + 6 * g.accent
                    + (melody_boost if g.voice == 0 else 0.0) + rng.normal(0, spread))
        start = seconds(g.beat) + rng.normal(0, jitter_s) + order * roll_s
        length = seconds(g.beat + g.length_beats) - seconds(g.beat)
        articulation = legato * rng.uniform(0.85, 1.1)
        end = start + max(0.03, length * articulation + rng.normal(0, jitter_s))
        notes.append(Note(int(g.pitch), max(0.0, start), max(0.0, start) + max(0.03, end - start),
                          int(np.clip(round(velocity), 8, 127))))
    notes.sort(key=lambda n: (n.start_s, n.pitch))
    pedal = tuple(
        PedalSpan(max(0.0, seconds(a) + rng.uniform(0.02, 0.12)), seconds(b) - rng.uniform(0.0, 0.06))
        for a, b in pedal_beats if seconds(b) - seconds(a) > 0.2
    )
    gap_s: Callable[[], float] = (lambda: _KEY_REPEAT_GAP_S) if restrike_gap_s is None else (
        lambda: float(rng.uniform(*restrike_gap_s)))
    return Performance(name, tuple(_no_overlap_same_pitch(notes, gap_s=gap_s)), pedal)


#: How long before its next strike a key played into itself is released, by default.
_KEY_REPEAT_GAP_S = 0.01


def _no_overlap_same_pitch(notes: list[Note], *, gap_s: Callable[[], float] = lambda: _KEY_REPEAT_GAP_S) -> list[Note]:
    """A key cannot be pressed while already down: end the earlier press just before the next
    (``gap_s()`` seconds before it)."""
    last: dict[int, int] = {}
    result = list(notes)
    for i, note in enumerate(result):
        j = last.get(note.pitch)
        gap = gap_s()
        if j is not None and result[j].end_s > note.start_s - gap:
            prev = result[j]
            result[j] = replace(prev, end_s=max(prev.start_s + 0.02, note.start_s - gap))
        last[note.pitch] = i
    return [n for n in result if n.end_s > n.start_s]


def _pedal_every(beats: float, total_beats: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    if rng.random() < 0.4:
        return []
    step = beats * float(rng.choice([1, 2]))
    return [(b, b + step) for b in np.arange(0.0, total_beats, step)]


# --------------------------------------------------------------------------- procedural music

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (1, 4, 0, 0), (0, 3, 1, 4), (5, 3, 0, 4))


class _Harmony:
    """A key and a chord progression: pitches by scale degree, chords by bar."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.tonic = int(rng.integers(0, 12))
        self.scale = _MAJOR if rng.random() < 0.6 else _MINOR
        self.progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]

    def degree_pitch(self, degree: int, octave_base: int) -> int:
        octave, step = divmod(degree, 7)
        return octave_base + self.tonic + 12 * octave + self.scale[step]

    def chord(self, bar: int, octave_base: int, size: int = 3) -> list[int]:
        root = self.progression[bar % len(self.progression)]
        return [self.degree_pitch(root + 2 * k, octave_base) for k in range(size)]

    def scale_pitches(self, low: int, high: int) -> list[int]:
        return [p for p in range(low, high + 1) if (p - self.tonic) % 12 in self.scale]


def _bars(duration_beats: float) -> int:
    return max(2, int(duration_beats // 4))


def _alberti(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    mel = harmony.scale_pitches(60, 84)
    idx = len(mel) // 2
    for bar in range(bars):
        low, mid, high = harmony.chord(bar, 48)
        for k, pitch in enumerate((low, high, mid, high) * 2):
            grid.append(_Grid(pitch, bar * 4 + k * 0.5, 0.5, 1, accent=float(k % 4 == 0)))
        beat = 0.0
        while beat < 4:
            length = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(mel) - 1))
            grid.append(_Grid(mel[idx], bar * 4 + beat, min(length, 4 - beat), 0, accent=float(beat == 0)))
            beat += length
    return grid, 4.0


def _chords(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    per_bar = int(rng.choice([1, 2, 4]))
    for bar in range(bars):
        for k in range(per_bar):
            base = int(rng.choice([48, 55, 60]))
            size = int(rng.integers(3, 6))
            pitches = harmony.chord(bar, base, size)
            pitches.append(harmony.chord(bar, 36, 1)[0])
            beat = bar * 4 + k * 4 / per_bar
            grid.extend(_Grid(p, beat, 4 / per_bar, 1 if p < 60 else 0, accent=float(k == 0)) for p in pitches)
    return grid, 4.0 / per_bar


def _arpeggio(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    notes_per_bar = int(rng.choice([8, 12, 16]))
    for bar in range(bars):
        chord = harmony.chord(bar, int(rng.choice([36, 48])), 3)
        span = [p + 12 * o for o in range(3) for p in chord]
        if rng.random() < 0.5:
            span = span + span[-2:0:-1]
        for k in range(notes_per_bar):
            grid.append(_Grid(span[k % len(span)], bar * 4 + k * 4 / notes_per_bar, 4 / notes_per_bar * 1.5, 1))
    return grid, 4.0


def _runs(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    pitches = harmony.scale_pitches(PIANO_LOW + 12, PIANO_HIGH - 12)
    pos = int(rng.integers(len(pitches)))
    direction = 1
    notes_per_bar = int(rng.choice([8, 16]))
    for bar in range(bars):
        for k in range(notes_per_bar):
            if pos <= 0 or pos >= len(pitches) - 1 or rng.random() < 0.08:
                direction = -direction
            pos = int(np.clip(pos + direction, 0, len(pitches) - 1))
            grid.append(_Grid(pitches[pos], bar * 4 + k * 4 / notes_per_bar, 4 / notes_per_bar, 0))
        bass = harmony.chord(bar, 36, 1)[0]
        grid.append(_Grid(bass, bar * 4, 4.0, 1, accent=1.0))
    return grid, 4.0


def _waltz(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    mel = harmony.scale_pitches(62, 86)
    idx = len(mel) // 2
    for bar in range(bars):
        chord = harmony.chord(bar, 52, 3)
        grid.append(_Grid(harmony.chord(bar, 36, 1)[0], bar * 3, 1.0, 1, accent=1.0))
        for beat in (1, 2):
            grid.extend(_Grid(p, bar * 3 + beat, 0.8, 1) for p in chord)
        idx = int(np.clip(idx + rng.integers(-3, 4), 0, len(mel) - 1))
        grid.append(_Grid(mel[idx], bar * 3, float(rng.choice([1.0, 2.0, 3.0])), 0, accent=1.0))
    return grid, 3.0


def _octaves(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    mel = harmony.scale_pitches(48, 84)
    idx = len(mel) // 2
    for bar in range(bars):
        beat = 0.0
        while beat < 4:
            length = float(rng.choice([0.5, 1.0, 1.0]))
            idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(mel) - 1))
            pitch = mel[idx]
            grid.append(_Grid(pitch, bar * 4 + beat, length, 0))
            if pitch + 12 <= PIANO_HIGH:
                grid.append(_Grid(pitch + 12, bar * 4 + beat, length, 0))
            beat += length
        bass = harmony.chord(bar, 28, 1)[0]
        grid.extend(_Grid(p, bar * 4, 2.0, 1, accent=1.0) for p in (bass, bass + 12))
    return grid, 4.0


def _repeated(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    """Repeated notes and trills: the cases where a transcriber must re-trigger correctly."""
    grid: list[_Grid] = []
    for bar in range(bars):
        pitch = int(rng.choice(harmony.scale_pitches(48, 90)))
        per_bar = int(rng.choice([4, 8, 12]))
        trill = rng.random() < 0.5
        other = pitch + int(rng.choice([1, 2]))
        for k in range(per_bar):
            p = other if trill and k % 2 else pitch
            grid.append(_Grid(p, bar * 4 + k * 4 / per_bar, 4 / per_bar * 0.9, 0))
        grid.append(_Grid(harmony.chord(bar, 36, 1)[0], bar * 4, 4.0, 1))
    return grid, 4.0


def _sparse(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    """Single and paired notes anywhere on the keyboard, long and short: covers the extreme keys."""
    grid: list[_Grid] = []
    beat = 0.0
    while beat < bars * 4:
        for _ in range(int(rng.integers(1, 3))):
            grid.append(_Grid(int(rng.integers(PIANO_LOW, PIANO_HIGH + 1)), beat,
                              float(rng.choice([0.25, 0.5, 1.0, 2.0, 4.0])), 0))
        beat += float(rng.choice([0.25, 0.5, 1.0, 1.5]))
    return grid, 4.0


def _polyphony(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    """Dense atonal voices with independent rhythms: no key helps, only listening does."""
    grid: list[_Grid] = []
    voices = int(rng.integers(2, 6))
    for voice in range(voices):
        centre = int(rng.integers(36, 90))
        beat = float(rng.choice([0.0, 0.25, 0.5]))
        pitch = centre
        while beat < bars * 4:
            length = float(rng.choice([0.25, 0.5, 0.75, 1.0, 2.0]))
            pitch = int(np.clip(pitch + rng.integers(-7, 8), max(PIANO_LOW, centre - 14), min(PIANO_HIGH, centre + 14)))
            if rng.random() < 0.85:
                grid.append(_Grid(pitch, beat, length, voice))
            beat += length
    return grid, 4.0


def _chorale(rng: np.random.Generator, harmony: _Harmony, bars: int) -> tuple[list[_Grid], float]:
    grid: list[_Grid] = []
    for bar in range(bars):
        for beat in range(4):
            chord = harmony.chord(bar * 2 + beat // 2, 48, 4)
            voicing = [chord[0] - 12, chord[1], chord[2] + 12 * int(rng.integers(0, 2)), chord[3] + 12]
            grid.extend(_Grid(p, bar * 4 + beat, 1.0, 0 if i == 3 else 1) for i, p in enumerate(voicing))
    return grid, 2.0


_GENERATORS: dict[str, Callable[[np.random.Generator, _Harmony, int], tuple[list[_Grid], float]]] = {
    "alberti": _alberti, "chords": _chords, "arpeggio": _arpeggio, "runs": _runs, "waltz": _waltz,
    "octaves": _octaves, "repeated": _repeated, "sparse": _sparse, "polyphony": _polyphony,
    "chorale": _chorale,
}


def generate_performance(*, seed: int, texture: str | None = None, duration_s: float = 30.0,
                         tempo_bpm: float | None = None) -> Performance:
    """Procedural piano music: one texture, a random key, tempo, dynamics and pedalling.

    The same ``seed`` always gives the same performance, so datasets are reproducible.
    """
    rng = np.random.default_rng(seed)
    texture = texture or str(rng.choice(TEXTURES))
    if texture not in _GENERATORS:
        raise ValueError(f"unknown texture {texture!r}; known: {', '.join(TEXTURES)}")
    tempo = tempo_bpm or float(rng.uniform(50, 190))
    harmony = _Harmony(rng)
    bars = _bars(duration_s * tempo / 60.0)
    grid, pedal_step = _GENERATORS[texture](rng, harmony, bars)
    grid = [g for g in grid if PIANO_LOW <= g.pitch <= PIANO_HIGH]
    total_beats = max((g.beat + g.length_beats for g in grid), default=4.0)
    transpose = int(rng.integers(-5, 6))
    grid = [replace(g, pitch=g.pitch + transpose) for g in grid if PIANO_LOW <= g.pitch + transpose <= PIANO_HIGH]
    performance = _humanize(f"{texture}-{seed}", grid, tempo_bpm=tempo, rng=rng,
                            pedal_beats=_pedal_every(pedal_step, total_beats, rng))
    return performance.cropped(0.0, duration_s)


# --------------------------------------------------------------------------- re-strikes

#: Textures :func:`restrike_performance` knows: keys struck again while they still sound.
RESTRIKE_TEXTURES = ("pedal_repeats", "pedal_melody", "legato_restrikes", "fast_repeats", "long_pedal")
#: A re-strike texture's score and its pedal spans in beats.
_PedalledGrid = tuple[list[_Grid], list[tuple[float, float]]]


def _pedal_repeats(rng: np.random.Generator, harmony: _Harmony, bars: int) -> _PedalledGrid:
    """Repeated chords under the pedal (Schubert's triplets, a hymn's repeated accompaniment): the
    inner notes are struck again and again while the pedal keeps them ringing; the top note moves."""
    grid: list[_Grid] = []
    per_bar = int(rng.choice([2, 3, 4, 6, 8]))
    base = int(rng.choice([48, 52, 55, 60]))
    size = int(rng.integers(2, 5))
    mel = harmony.scale_pitches(base + 10, base + 26)
    idx = len(mel) // 2
    for bar in range(bars):
        chord = harmony.chord(bar, base, size)
        bass = harmony.chord(bar, 36, 1)[0]
        grid.append(_Grid(bass, bar * 4, 4.0, 1, accent=1.0))
        for k in range(per_bar):
            beat = bar * 4 + k * 4 / per_bar
            if rng.random() < 0.4:
                idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(mel) - 1))
            grid.extend(_Grid(p, beat, 4 / per_bar, 1, accent=float(k == 0) * 0.5) for p in chord)
            grid.append(_Grid(mel[idx], beat, 4 / per_bar, 0, accent=float(k == 0)))
    pedal_step = float(rng.choice([2.0, 4.0, 4.0]))
    return grid, [(b, b + pedal_step) for b in np.arange(0.0, bars * 4, pedal_step)]


def _pedal_melody(rng: np.random.Generator, harmony: _Harmony, bars: int) -> _PedalledGrid:
    """A melody that often repeats its note over a pedalled broken-chord bass (a nocturne's left hand
    strikes the same bass keys every beat while they still ring)."""
    grid: list[_Grid] = []
    mel = harmony.scale_pitches(60, 88)
    idx = len(mel) // 2
    repeat_chance = rng.uniform(0.35, 0.6)
    figure = int(rng.choice([3, 4, 6]))
    for bar in range(bars):
        low = harmony.chord(bar, int(rng.choice([31, 36, 40])), 3)
        span = [low[0], low[2], low[1] + 12, low[2] + 12, low[1] + 12, low[2]][:figure]
        for beat in range(4):
            for k, pitch in enumerate(span):
                grid.append(_Grid(pitch, bar * 4 + beat + k / figure, 1.0 / figure * 1.5, 1,
                                  accent=float(k == 0) * 0.5))
        beat_f = 0.0
        while beat_f < 4:
            length = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
            if rng.random() >= repeat_chance:
                idx = int(np.clip(idx + rng.integers(-2, 3), 0, len(mel) - 1))
            grid.append(_Grid(mel[idx], bar * 4 + beat_f, min(length, 4 - beat_f), 0, accent=float(beat_f == 0)))
            beat_f += length
    pedal_step = float(rng.choice([1.0, 2.0, 4.0]))
    return grid, [(b, b + pedal_step) for b in np.arange(0.0, bars * 4, pedal_step)]


def _legato_restrikes(rng: np.random.Generator, harmony: _Harmony, bars: int) -> _PedalledGrid:
    """Legato voices that keep a common tone from chord to chord and re-strike it: the key goes
    down again before (or just as) it was released, so the string never stopped."""
    grid: list[_Grid] = []
    per_bar = int(rng.choice([2, 4, 4, 8]))
    for bar in range(bars):
        for k in range(per_bar):
            beat = bar * 4 + k * 4 / per_bar
            chord = harmony.chord(bar * 2 + (k * 2) // per_bar, 48, 4)
            voicing = [chord[0] - 12, chord[1], chord[2], chord[3] + 12 * int(rng.integers(0, 2))]
            grid.extend(_Grid(p, beat, 4 / per_bar * 1.25, 0 if i == 3 else 1) for i, p in enumerate(voicing))
    pedal: list[tuple[float, float]] = []
    if rng.random() < 0.5:
        pedal = [(b, b + 2.0) for b in np.arange(0.0, bars * 4, 2.0)]
    return grid, pedal


def _fast_repeats(rng: np.random.Generator, harmony: _Harmony, bars: int) -> _PedalledGrid:
    """Fast repeated-note figures: one key hammered (a Scarlatti sonata, a tremolo on one note),
    octave tremolos and Alberti figures whose top note repeats, over a bass."""
    grid: list[_Grid] = []
    for bar in range(bars):
        per_bar = int(rng.choice([8, 12, 16]))
        kind = int(rng.integers(3))
        pitch = int(rng.choice(harmony.scale_pitches(45, 93)))
        low, mid, high = harmony.chord(bar, int(rng.choice([43, 48, 55])), 3)
        for k in range(per_bar):
            beat = bar * 4 + k * 4 / per_bar
            if kind == 0:
                p = pitch
            elif kind == 1:
                p = pitch if k % 2 == 0 else min(PIANO_HIGH, pitch + 12)
            else:
                p = (low, high, mid, high)[k % 4] if k % 2 == 0 else high
            grid.append(_Grid(p, beat, 4 / per_bar * float(rng.uniform(0.5, 0.95)), 0, accent=float(k % 4 == 0)))
        grid.append(_Grid(harmony.chord(bar, 36, 1)[0], bar * 4, 4.0, 1, accent=1.0))
    pedal: list[tuple[float, float]] = []
    if rng.random() < 0.5:
        pedal = [(b, b + 4.0) for b in np.arange(0.0, bars * 4, 4.0)]
    return grid, pedal


def _long_pedal(rng: np.random.Generator, harmony: _Harmony, bars: int) -> _PedalledGrid:
    """Slow chords whose keys are let go at once while the pedal holds them for seconds, changed
    with the harmony; common tones are struck again after each change, and some keys are held."""
    grid: list[_Grid] = []
    for bar in range(bars):
        chord = harmony.chord(bar, int(rng.choice([48, 55])), int(rng.integers(3, 5)))
        bass = harmony.chord(bar, int(rng.choice([24, 36])), 1)[0]
        held = rng.random() < 0.3  # fingers hold the chord: the key release ends it, not the pedal
        for offset in (0.0, 2.0) if rng.random() < 0.5 else (0.0,):
            length = 4.0 - offset if held else float(rng.uniform(0.2, 1.0))
            grid.extend(_Grid(p, bar * 4 + offset, length, 1, accent=float(offset == 0)) for p in chord)
        grid.append(_Grid(bass, bar * 4, float(rng.uniform(0.3, 4.0)), 1, accent=1.0))
        top = int(rng.choice(harmony.scale_pitches(72, 90)))
        grid.append(_Grid(top, bar * 4 + float(rng.choice([0.0, 1.0, 2.0])), float(rng.uniform(0.3, 2.0)), 0))
    pedal_step = float(rng.choice([4.0, 4.0, 8.0]))
    return grid, [(b, b + pedal_step) for b in np.arange(0.0, bars * 4, pedal_step)]


_RESTRIKE_GENERATORS: dict[str, Callable[[np.random.Generator, _Harmony, int], _PedalledGrid]] = {
    "pedal_repeats": _pedal_repeats, "pedal_melody": _pedal_melody, "legato_restrikes": _legato_restrikes,
    "fast_repeats": _fast_repeats, "long_pedal": _long_pedal,
}
#: Tempo range per re-strike texture (bpm): slow for long pedalled chords, brisk for repeated figures.
_RESTRIKE_TEMPI = {"pedal_repeats": (60.0, 150.0), "pedal_melody": (50.0, 110.0), "legato_restrikes": (50.0, 120.0),
                   "fast_repeats": (60.0, 150.0), "long_pedal": (40.0, 80.0)}


def restrike_performance(*, seed: int, texture: str | None = None, duration_s: float = 30.0) -> Performance:
    """Music where keys are struck again while they still sound: :data:`RESTRIKE_TEXTURES`.

    The ordinary generators and the corpus rarely re-strike a ringing string, and a transcriber
    trained on them misses such notes (the onset of an already vibrating string is faint). Here
    repeated notes and chords are pedalled, legato voices re-strike their common tones with the key
    released 0 to 20 ms before it goes down again (a note-off, then a note-on), and long pedalled
    chords end at the pedal change. :meth:`Performance.sounding_notes` ends each sound at the
    next strike of its key, so every re-strike is a labelled onset.
    """
    rng = np.random.default_rng(seed)
    texture = texture or str(rng.choice(RESTRIKE_TEXTURES))
    if texture not in _RESTRIKE_GENERATORS:
        raise ValueError(f"unknown re-strike texture {texture!r}; known: {', '.join(RESTRIKE_TEXTURES)}")
    tempo = float(rng.uniform(*_RESTRIKE_TEMPI[texture]))
    harmony = _Harmony(rng)
    grid, pedal_beats = _RESTRIKE_GENERATORS[texture](rng, harmony, _bars(duration_s * tempo / 60.0) + 1)
    transpose = int(rng.integers(-5, 6))
    struck: set[tuple[int, float]] = set()  # two voices on one key at one beat are one strike
    unique = []
    for g in grid:
        if PIANO_LOW <= g.pitch + transpose <= PIANO_HIGH and (g.pitch, g.beat) not in struck:
            struck.add((g.pitch, g.beat))
            unique.append(replace(g, pitch=g.pitch + transpose))
    legato = float(rng.uniform(1.0, 1.3)) if texture == "legato_restrikes" else None
    performance = _humanize(f"{texture}-{seed}", unique, tempo_bpm=tempo, rng=rng, pedal_beats=pedal_beats,
                            legato=legato, restrike_gap_s=(0.0, 0.02))
    return performance.cropped(0.0, duration_s)


# --------------------------------------------------------------------------- music21 corpus

def corpus_paths(*, split: str = "all") -> list[Path]:
    """Polyphonic scores from music21's corpus; ``split`` "train", "validation" or "all".

    The split is a stable hash of the file name, so held-out pieces never change.
    """
    from music21 import corpus

    paths = []
    for path in corpus.getPaths():
        text = str(path)
        if "/corpus/" not in text:
            continue
        collection = text.split("/corpus/", 1)[1].split("/", 1)[0]
        if collection in CORPUS_COLLECTIONS:
            paths.append(Path(text))
    paths.sort()
    if split == "all":
        return paths
    if split not in ("train", "validation"):
        raise ValueError(f"split must be train, validation or all, not {split!r}")
    return [p for p in paths if (_stable_fraction(p.name + p.parent.name) < 0.12) == (split == "validation")]


def _stable_fraction(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def corpus_grid(path: Path, *, max_beats: float = 400.0) -> list[tuple[int, float, float, int]]:
    """``(pitch, beat, length_beats, part)`` of every note in a corpus score (ties merged).

    Parsing is slow (seconds per score), so callers cache this list.
    """
    from music21 import converter

    score = converter.parse(str(path))
    parts = getattr(score, "parts", None) or [score]
    result: list[tuple[int, float, float, int]] = []
    for index, part in enumerate(parts):
        flat = part.stripTies().flatten()
        for element in flat.notes:
            beat = float(element.offset)
            if beat >= max_beats:
                break
            length = float(element.duration.quarterLength)
            if length <= 0:
                continue
            for pitch in element.pitches:
                result.append((int(pitch.midi), beat, length, index))
    return result


def corpus_performance(grid: Sequence[tuple[int, float, float, int]], *, name: str, seed: int,
                       tempo_bpm: float | None = None, max_duration_s: float | None = None) -> Performance:
    """Perform a parsed score (from :func:`corpus_grid`) with humanizing and pedal.

    String-quartet and choral ranges are folded into the piano range by octaves,
    and the score is transposed by a few semitones for variety.
    """
    rng = np.random.default_rng(seed)
    tempo = tempo_bpm or float(rng.uniform(55, 150))
    transpose = int(rng.integers(-4, 5))
    notes: list[_Grid] = []
    seen: set[tuple[int, float]] = set()
    for pitch, beat, length, part in grid:
        p = pitch + transpose
        while p < PIANO_LOW:
            p += 12
        while p > PIANO_HIGH:
            p -= 12
        if (p, beat) in seen:  # unisons between parts are one key on a piano
            continue
        seen.add((p, beat))
        notes.append(_Grid(p, beat, length, 0 if part == 0 else 1, accent=float(beat % 4 == 0)))
    total_beats = max((g.beat + g.length_beats for g in notes), default=4.0)
    performance = _humanize(name, notes, tempo_bpm=tempo, rng=rng,
                            pedal_beats=_pedal_every(2.0, total_beats, rng))
    if max_duration_s is not None:
        performance = performance.cropped(0.0, max_duration_s)
    return performance


def performance_from_midi(midi: mido.MidiFile, *, name: str = "midi") -> Performance:
    """Read notes and sustain pedal back from a MIDI file (all tracks and channels merged)."""
    notes: list[Note] = []
    pedal: list[PedalSpan] = []
    open_notes: dict[int, tuple[float, int]] = {}
    pedal_down: float | None = None
    now = 0.0
    for message in midi:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            if message.note in open_notes:
                start, vel = open_notes.pop(message.note)
                notes.append(Note(message.note, start, now, vel))
            open_notes[message.note] = (now, message.velocity)
        elif message.type in ("note_off", "note_on") and message.note in open_notes:
            start, vel = open_notes.pop(message.note)
            notes.append(Note(message.note, start, now, vel))
        elif message.type == "control_change" and message.control == 64:
            if message.value >= 64 and pedal_down is None:
                pedal_down = now
            elif message.value < 64 and pedal_down is not None:
                pedal.append(PedalSpan(pedal_down, now))
                pedal_down = None
    for pitch, (start, vel) in open_notes.items():
        notes.append(Note(pitch, start, now, vel))
    if pedal_down is not None:
        pedal.append(PedalSpan(pedal_down, now))
    notes.sort(key=lambda n: (n.start_s, n.pitch))
    return Performance(name, tuple(notes), tuple(pedal))
