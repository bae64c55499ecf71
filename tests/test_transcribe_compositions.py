"""Synthesized performances: determinism, piano range, pedal and re-strike ground truth, MIDI round trip, rendering."""

from __future__ import annotations

import shutil

import mido
import numpy as np
import pytest

from models.synth.compositions import (
    RESTRIKE_TEXTURES,
    TEXTURES,
    Note,
    PedalSpan,
    Performance,
    generate_performance,
    performance_from_midi,
    restrike_performance,
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


def _restrikes(notes: tuple[Note, ...], *, released_within_s: float = 0.0) -> list[tuple[Note, Note]]:
    """Pairs (sounding note, the next strike of its key) where the key is struck while it still sounds
    (or ``released_within_s`` after its release: the damper has not yet silenced the string)."""
    by_key: dict[int, Note] = {}
    pairs = []
    for note in sorted(notes, key=lambda n: (n.start_s, n.pitch)):
        before = by_key.get(note.pitch)
        if before is not None and before.end_s >= note.start_s - released_within_s - 1e-9:
            pairs.append((before, note))
        by_key[note.pitch] = note
    return pairs


@pytest.mark.parametrize("texture", RESTRIKE_TEXTURES)
def test_restrike_textures_are_deterministic_playable_and_never_press_a_pressed_key(texture: str) -> None:
    first = restrike_performance(seed=4, texture=texture, duration_s=12.0)
    assert first == restrike_performance(seed=4, texture=texture, duration_s=12.0)
    assert len(first.notes) >= 8
    assert all(21 <= n.pitch <= 108 and 1 <= n.velocity <= 127 and 0 <= n.start_s < n.end_s for n in first.notes)
    by_key: dict[int, Note] = {}
    for note in first.notes:  # key presses: a key is released (note-off) before it goes down again
        before = by_key.get(note.pitch)
        assert before is None or before.end_s <= note.start_s + 1e-9
        by_key[note.pitch] = note


def test_restrike_material_strikes_ringing_keys_far_more_than_the_ordinary_generators() -> None:
    def share(performances: list[Performance]) -> float:
        notes = sum(len(p.notes) for p in performances)
        return sum(len(_restrikes(p.sounding_notes(), released_within_s=0.03)) for p in performances) / notes

    restrike = share([restrike_performance(seed=s, duration_s=20.0) for s in range(12)])
    ordinary = share([generate_performance(seed=s, duration_s=20.0) for s in range(12)])
    assert restrike > 0.3
    assert restrike > 4 * ordinary


def test_restrike_under_the_pedal_is_labelled_as_two_onsets_with_the_first_cut_at_the_second() -> None:
    from models.transcribe.features import FRAMES_PER_S
    from models.transcribe.labels import LOWEST_PITCH, make_targets, notes_array

    # Struck, released under the pedal, struck again, released, then the pedal lifts.
    performance = Performance("p", (Note(60, 0.2, 0.5, 80), Note(60, 1.0, 1.3, 60)), (PedalSpan(0.1, 2.0),))
    sounding = performance.sounding_notes()
    assert [(n.start_s, n.end_s) for n in sounding] == [(0.2, 1.0), (1.0, 2.0)]
    targets = make_targets(notes_array([(n.pitch, n.start_s, n.end_s, n.velocity) for n in sounding]),
                           start_frame=0, n_frames=150)
    key = 60 - LOWEST_PITCH
    assert list(np.flatnonzero(targets.onset[:, key])) == [round(0.2 * FRAMES_PER_S), round(1.0 * FRAMES_PER_S)]
    assert list(np.flatnonzero(targets.offset[:, key])) == [round(1.0 * FRAMES_PER_S), round(2.0 * FRAMES_PER_S)]
    assert targets.frame[round(0.2 * FRAMES_PER_S):round(2.0 * FRAMES_PER_S), key].all()
    assert targets.velocity[round(1.0 * FRAMES_PER_S), key] == pytest.approx(60 / 127)


def test_legato_restrike_midi_releases_the_key_before_striking_it_again() -> None:
    # The generator may release a key 0 ms before its re-strike: both events share a tick.
    performance = Performance("p", (Note(64, 0.0, 0.5, 90), Note(64, 0.5, 0.9, 70)), ())
    messages = [m for m in performance.to_midi() if m.type in ("note_on", "note_off")]
    assert [m.type for m in messages] == ["note_on", "note_off", "note_on", "note_off"]
    assert messages[2].time == 0  # the second strike follows its release at the same instant
    back = performance_from_midi(performance.to_midi())
    assert [n.velocity for n in back.notes] == [90, 70]
    assert [n.start_s for n in back.notes] == pytest.approx([0.0, 0.5], abs=0.003)
    assert back.notes[0].end_s == pytest.approx(0.5, abs=0.003)
    pedalled = restrike_performance(seed=7, texture="pedal_repeats", duration_s=10.0)
    pairs = _restrikes(pedalled.sounding_notes())
    assert pairs and all(first.end_s == pytest.approx(second.start_s) for first, second in pairs)
