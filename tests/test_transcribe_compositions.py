"""Synthesized performances: determinism, piano range, pedal ground truth, MIDI round trip, rendering."""

from __future__ import annotations

import shutil

import mido
import numpy as np
import pytest

from models.synth.compositions import (
    TEXTURES,
    Note,
    PedalSpan,
    Performance,
    generate_performance,
    performance_from_midi,
)


@pytest.mark.parametrize("texture", TEXTURES)
def test_every_texture_is_deterministic_and_playable(texture: str) -> None:
    first = generate_performance(seed=5, texture=texture, duration_s=8.0)
    again = generate_performance(seed=5, texture=texture, duration_s=8.0)
    assert first == again
    assert len(first.notes) >= 4
    assert all(21 <= n.pitch <= 108 and 1 <= n.velocity <= 127 and n.end_s > n.start_s for n in first.notes)
    assert all(n.start_s < 8.0 for n in first.notes)
    velocities = {n.velocity for n in first.notes}
    assert len(velocities) > 2, "humanized velocities vary"


def test_pedal_extends_sounding_notes_until_release_or_restrike() -> None:
    performance = Performance("p", (Note(60, 0.0, 0.5, 80), Note(64, 0.2, 0.4, 70), Note(60, 1.5, 2.0, 80)),
                              (PedalSpan(0.3, 2.5),))
    sounding = {(n.pitch, n.start_s): n.end_s for n in performance.sounding_notes()}
    assert sounding[(64, 0.2)] == 2.5  # released under the pedal: held to the pedal release
    assert sounding[(60, 0.0)] == 1.5  # cut by the re-strike of the same key
    assert sounding[(60, 1.5)] == 2.5


def test_midi_round_trip_keeps_notes_and_pedal() -> None:
    performance = generate_performance(seed=11, texture="chords", duration_s=6.0)
    midi = performance.to_midi(program=1, tempo_bpm=100.0)
    assert midi.type == 1
    assert any(m.type == "set_tempo" for m in midi.tracks[0])
    back = performance_from_midi(midi)
    assert len(back.notes) == len(performance.notes)
    for a, b in zip(sorted(back.notes, key=lambda n: (n.start_s, n.pitch)),
                    sorted(performance.notes, key=lambda n: (n.start_s, n.pitch)), strict=True):
        assert a.pitch == b.pitch and a.velocity == b.velocity
        assert abs(a.start_s - b.start_s) < 0.003 and abs(a.end_s - b.end_s) < 0.003
    assert len(back.pedal) == len(performance.pedal)


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_render_midi_returns_float32_audio_at_requested_rate() -> None:
    from models.synth.midi_render import render_midi
    from models.synth.sources import find_soundfont

    try:
        font = find_soundfont("TimGM6mb.sf2")
    except FileNotFoundError:
        pytest.skip("TimGM6mb soundfont not installed")
    midi = mido.MidiFile(type=1)
    track = mido.MidiTrack([mido.Message("note_on", note=69, velocity=100, time=0),
                            mido.Message("note_off", note=69, velocity=0, time=480)])
    midi.tracks.append(track)
    audio = render_midi(midi, soundfont=font, sr=16000, program=0)
    assert audio.dtype == np.float32
    assert abs(audio.shape[0] - int(16000 * (midi.length + 1.0))) <= 1
    spectrum = np.abs(np.fft.rfft(audio[:8000]))
    peak_hz = np.argmax(spectrum) * 16000 / 8000
    assert abs(peak_hz - 440) < 8


def test_freepats_render_keeps_leading_silence_and_pitch() -> None:
    # TiMidity drops leading silence unless told not to, which would shift every label.
    from models.synth.timidity_render import render_freepats, timidity_available

    if not timidity_available():
        pytest.skip("timidity and freepats not installed")
    performance = Performance("a4", (Note(69, 1.0, 1.6, 100),), ())
    audio = render_freepats(performance, sr=16000, program=0)
    assert audio.dtype == np.float32
    assert abs(audio.shape[0] - 16000 * 2.6) <= 1
    first = int(np.argmax(np.abs(audio) > 0.05 * np.abs(audio).max()))
    assert abs(first / 16000 - 1.0) < 0.02
    spectrum = np.abs(np.fft.rfft(audio[16000:24000]))
    assert abs(np.argmax(spectrum) * 16000 / 8000 - 440) < 8


def test_low_items_are_transposed_into_the_bass_and_stay_on_the_keyboard() -> None:
    from models.transcribe.dataset import transposed_down

    performance = Performance("p", (Note(25, 0.0, 0.5, 80), Note(48, 0.2, 0.4, 70)), (PedalSpan(0.0, 1.0),))
    low = transposed_down(performance, 12)
    assert [(n.pitch, n.start_s, n.velocity) for n in low.notes] == [(36, 0.2, 70)]  # 25 - 12 is off the keyboard
    assert low.pedal == performance.pedal
