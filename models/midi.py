"""Type-1 piano MIDI files from notes in seconds: one writer for synthesis and transcription.

Note-offs sort before note-ons at the same tick so a re-struck key is released
before it is pressed again, and every note lasts at least one tick, so every
note-on has its matching note-off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import mido

_PEDAL_UP, _NOTE_OFF, _PEDAL_DOWN, _NOTE_ON = range(4)  # sort order at equal ticks


@dataclass(frozen=True)
class MidiNote:
    pitch: int
    start_s: float
    end_s: float
    velocity: int


def piano_midi(notes: Iterable[MidiNote], *, pedal: Iterable[tuple[float, float]] = (), tempo_bpm: float = 120.0,
               ppq: int = 480, program: int = 0, name: str = "piano") -> mido.MidiFile:
    """A tempo track and one instrument track with notes and sustain-pedal (CC64) spans."""
    tempo = mido.bpm2tempo(tempo_bpm)
    ticks_per_s = ppq * 1_000_000 / tempo

    def tick(seconds: float) -> int:
        return max(0, round(seconds * ticks_per_s))

    events: list[tuple[int, int, mido.Message]] = []
    for start_s, end_s in pedal:
        events.append((tick(start_s), _PEDAL_DOWN, mido.Message("control_change", control=64, value=127)))
        events.append((tick(end_s), _PEDAL_UP, mido.Message("control_change", control=64, value=0)))
    for note in notes:
        on = tick(note.start_s)
        events.append((on, _NOTE_ON, mido.Message("note_on", note=note.pitch, velocity=int(note.velocity))))
        events.append((max(on + 1, tick(note.end_s)), _NOTE_OFF, mido.Message("note_off", note=note.pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0),
                           mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
                           mido.MetaMessage("end_of_track", time=0)])
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name[:60] or "piano", time=0),
                            mido.Message("program_change", program=program, time=0)])
    now = 0
    for when, _, message in events:
        track.append(message.copy(time=when - now))
        now = when
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=1, ticks_per_beat=ppq)
    midi.tracks.extend([meta, track])
    return midi
