"""The shared MIDI writer: matched note pairs, re-struck keys and pedal spans survive."""

from __future__ import annotations

from pathlib import Path

import mido

from models.midi import MidiNote, piano_midi


def _messages(midi: mido.MidiFile) -> list[tuple[int, str, int, int]]:
    absolute, out = 0, []
    for message in midi.tracks[1]:
        absolute += message.time
        if message.type in ("note_on", "note_off"):
            out.append((absolute, message.type, message.note, message.velocity))
        elif message.type == "control_change":
            out.append((absolute, "cc64", message.control, message.value))
    return out


def test_restruck_key_is_released_before_it_is_pressed_again(tmp_path: Path) -> None:
    notes = [MidiNote(60, 0.0, 0.5, 80), MidiNote(60, 0.5, 1.0, 90), MidiNote(64, 0.25, 0.25, 70)]
    midi = piano_midi(notes, pedal=[(0.0, 0.75)], tempo_bpm=120.0, ppq=480)
    events = _messages(midi)
    assert events.index((480, "note_off", 60, 0)) < events.index((480, "note_on", 60, 90))
    assert (240, "note_on", 64, 70) in events and (241, "note_off", 64, 0) in events  # at least one tick
    assert (0, "cc64", 64, 127) in events and (720, "cc64", 64, 0) in events
    path = tmp_path / "x.mid"
    midi.save(path)
    reread = mido.MidiFile(path)
    assert reread.type == 1 and reread.ticks_per_beat == 480
    ons = sum(1 for m in reread.tracks[1] if m.type == "note_on")
    offs = sum(1 for m in reread.tracks[1] if m.type == "note_off")
    assert ons == offs == 3
