"""Exporters: standard MIDI (type 1, tempo, matched note-offs), note JSON, MusicXML, tempo estimate."""

from __future__ import annotations

import json
from pathlib import Path

import mido

from models.transcribe.decode import TranscribedNote
from models.transcribe.export import (
    estimate_tempo,
    notes_payload,
    write_midi,
    write_musicxml,
    write_notes_json,
)


def _notes() -> list[TranscribedNote]:
    return [TranscribedNote(60, 0.0, 0.5, 80, 0.9), TranscribedNote(64, 0.5, 1.0, 70, 0.9),
            TranscribedNote(60, 0.5, 1.5, 60, 0.8), TranscribedNote(43, 0.0, 2.0, 50, 0.9)]


def test_midi_is_type1_with_tempo_velocities_and_matched_note_offs(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "out.mid", _notes(), tempo_bpm=90.0, ppq=960)
    midi = mido.MidiFile(str(path))
    assert midi.type == 1 and midi.ticks_per_beat == 960 and len(midi.tracks) == 2
    tempos = [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(90.0)]
    open_notes: dict[int, int] = {}
    found = []
    now = 0.0
    for message in midi:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            assert message.note not in open_notes, "a note-on while the key is still sounding"
            open_notes[message.note] = message.velocity
            found.append((message.note, round(now, 3), message.velocity))
        elif message.type == "note_off":
            assert message.note in open_notes
            del open_notes[message.note]
    assert not open_notes, "every note-on has its note-off"
    assert sorted(found) == sorted((n.pitch, n.start_s, n.velocity) for n in _notes())


def test_notes_json_lists_every_note(tmp_path: Path) -> None:
    payload = notes_payload(_notes(), source="x.wav", duration_s=2.0, tempo_bpm=120.0, messages=["hi"])
    path = write_notes_json(tmp_path / "x.notes.json", payload)
    data = json.loads(path.read_text())
    assert data["count"] == 4 and data["messages"] == ["hi"]
    assert data["notes"][0] == {"pitch": 60, "start_s": 0.0, "end_s": 0.5, "velocity": 80, "confidence": 0.9}


def test_musicxml_is_quantized_on_two_staves(tmp_path: Path) -> None:
    from music21 import converter, stream

    path = write_musicxml(tmp_path / "x.musicxml", _notes(), tempo_bpm=120.0)
    score = converter.parse(str(path))
    assert isinstance(score, stream.Score) and len(score.parts) == 2
    pitches = sorted(p.midi for n in score.recurse().notes for p in n.pitches)
    assert pitches == [43, 60, 60, 64]
    assert all((float(n.offset) * 12) % 1 == 0 for n in score.recurse().notes)


def test_tempo_estimate_follows_a_steady_pulse() -> None:
    beat_s = 0.5  # 120 bpm
    notes = [TranscribedNote(60 + i % 5, i * beat_s, i * beat_s + 0.3, 80, 0.9) for i in range(40)]
    assert abs(estimate_tempo(notes) - 120.0) < 6.0
    assert estimate_tempo(notes[:3]) == 120.0
