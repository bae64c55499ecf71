"""Decoding rules on hand-built posteriors: onsets, held notes, re-triggers, octave ghosts, velocity."""

from __future__ import annotations

import numpy as np
import pytest

from models.transcribe.decode import DecodeSettings, Posteriors, decode
from models.transcribe.features import FRAMES_PER_S
from models.transcribe.tuning import tune_decoding

C4 = 60 - 21  # key index of middle C


def _posteriors(frames: int = 200) -> Posteriors:
    zeros = np.zeros((frames, 88), np.float32)
    return Posteriors(onset=zeros.copy(), offset=zeros.copy(), frame=zeros.copy(), velocity=zeros.copy())


def _note(post: Posteriors, key: int, start: int, stop: int, *, onset: float = 0.95, velocity: float = 0.5) -> None:
    post.onset[start, key] = onset
    post.onset[start - 1, key] = onset / 3
    post.onset[start + 1, key] = onset / 3
    post.frame[start:stop, key] = 0.9
    post.velocity[start:start + 2, key] = velocity


def test_single_note_has_interpolated_onset_offset_and_velocity() -> None:
    post = _posteriors()
    _note(post, C4, 50, 100, velocity=64 / 127)
    (note,) = decode(post)
    assert note.pitch == 60
    assert abs(note.start_s - 50 / FRAMES_PER_S) < 0.5 / FRAMES_PER_S
    assert abs(note.end_s - 100 / FRAMES_PER_S) <= 1 / FRAMES_PER_S
    assert note.velocity == 64


def test_asymmetric_peak_moves_onset_between_frames() -> None:
    post = _posteriors()
    _note(post, C4, 50, 100)
    post.onset[51, C4] = 0.8
    (note,) = decode(post)
    assert 50 / FRAMES_PER_S < note.start_s < 50.5 / FRAMES_PER_S


def test_weak_onset_inside_held_note_does_not_retrigger() -> None:
    post = _posteriors()
    _note(post, C4, 20, 150)
    post.onset[80, C4] = 0.45  # a bump in a sustained note: above onset threshold, below re-trigger
    notes = decode(post)
    assert len(notes) == 1
    assert notes[0].end_s > 140 / FRAMES_PER_S


def test_confident_repeated_strike_splits_the_note() -> None:
    post = _posteriors()
    _note(post, C4, 20, 150)
    post.onset[80, C4] = 0.95
    notes = decode(post)
    assert [round(n.start_s * FRAMES_PER_S) for n in notes] == [20, 80]
    assert notes[0].end_s <= notes[1].start_s + 1e-6


def test_strikes_closer_than_min_ioi_merge() -> None:
    post = _posteriors()
    _note(post, C4, 20, 60)
    post.onset[22, C4] = 0.96
    notes = decode(post, DecodeSettings(min_ioi_s=0.1))
    assert len(notes) == 1


def test_weak_octave_ghost_is_dropped_but_real_octave_kept() -> None:
    post = _posteriors()
    _note(post, C4, 40, 90, onset=0.95)
    _note(post, C4 + 12, 40, 90, onset=0.3)  # harmonic leakage: weak and simultaneous
    post.onset[40, C4 + 12] = 0.3
    ghosts = decode(post, DecodeSettings(onset_threshold=0.25))
    assert [n.pitch for n in ghosts] == [60]
    post.onset[40, C4 + 12] = 0.9  # a real octave: strong
    real = decode(post, DecodeSettings(onset_threshold=0.25))
    assert sorted(n.pitch for n in real) == [60, 72]


def test_weak_onset_an_octave_below_a_strong_one_is_a_real_note() -> None:
    # Partials lie above their fundamental: a weaker note under a strong one is not its ghost.
    post = _posteriors()
    _note(post, C4 + 12, 40, 90, onset=0.95)
    _note(post, C4, 40, 90, onset=0.5)
    assert sorted(n.pitch for n in decode(post, DecodeSettings(onset_threshold=0.25))) == [60, 72]


def test_octave_onset_without_held_frame_activity_is_a_ghost() -> None:
    post = _posteriors()
    _note(post, C4, 40, 90, onset=0.95)
    _note(post, C4 + 12, 40, 90, onset=0.9)  # nearly as strong as the fundamental below...
    post.frame[40:90, C4 + 12] = 0.5  # ...but the key does not keep sounding: a partial's attack
    assert [n.pitch for n in decode(post)] == [60]
    post.frame[40:90, C4 + 12] = 0.95  # held: a real octave
    assert sorted(n.pitch for n in decode(post)) == [60, 72]


def test_note_end_moves_to_a_nearby_offset_peak() -> None:
    post = _posteriors()
    _note(post, C4, 20, 100)
    post.offset[96, C4] = 0.4  # the release, 4 frames before the frame activity fades
    (note,) = decode(post)
    assert abs(note.end_s - 96 / FRAMES_PER_S) < 1e-6
    post.offset[96, C4] = 0.0
    post.offset[80, C4] = 0.4  # too far from the frame end to be this note's release
    (note,) = decode(post)
    assert abs(note.end_s - 100 / FRAMES_PER_S) < 1e-6


def test_confident_offset_ends_note_before_frame_activity_does() -> None:
    post = _posteriors()
    _note(post, C4, 20, 150)
    post.offset[70, C4] = 0.9
    (note,) = decode(post)
    assert abs(note.end_s - 70 / FRAMES_PER_S) < 1e-6


def test_faded_note_is_held_to_a_pedal_release_on_many_keys() -> None:
    post = _posteriors()
    _note(post, C4, 20, 60)  # fades at frame 60 while the pedal still holds it
    _note(post, C4 + 7, 30, 60)
    _note(post, C4 + 2, 140, 160)  # struck after the release: keeps its own end
    post.offset[120, 10:16] = 0.5  # the pedal lifts: offsets on six keys at once
    rule = DecodeSettings(release_keys=6, release_threshold=0.3, release_lookahead_frames=100)
    ends = {n.pitch: n.end_s for n in decode(post, rule)}
    assert ends[60] == ends[67] == pytest.approx(120 / FRAMES_PER_S)
    assert ends[62] == pytest.approx(160 / FRAMES_PER_S)
    assert {n.pitch: n.end_s for n in decode(post)}[60] == pytest.approx(60 / FRAMES_PER_S)  # rule off
    short = DecodeSettings(release_keys=6, release_threshold=0.3, release_lookahead_frames=40)
    assert {n.pitch: n.end_s for n in decode(post, short)}[60] == pytest.approx(60 / FRAMES_PER_S)
    few = DecodeSettings(release_keys=7, release_threshold=0.3, release_lookahead_frames=100)
    assert {n.pitch: n.end_s for n in decode(post, few)}[60] == pytest.approx(60 / FRAMES_PER_S)


def test_empty_posteriors_give_no_notes() -> None:
    assert decode(_posteriors(5)) == []


def test_tuning_finds_the_threshold_that_keeps_a_soft_note() -> None:
    post = _posteriors()
    _note(post, C4, 20, 60, onset=0.95)
    _note(post, C4 + 4, 100, 140, onset=0.45)  # a soft note the 0.5 threshold misses
    truth = np.array([[60, 20 / FRAMES_PER_S, 60 / FRAMES_PER_S, 80], [64, 100 / FRAMES_PER_S, 140 / FRAMES_PER_S, 40]])
    results = tune_decoding([post], [truth], grid={"onset_threshold": (0.4, 0.5)})
    assert [r.settings.onset_threshold for r in results] == [0.4, 0.5]
    assert results[0].scores["onset_f1"] == 1.0 and results[1].scores["onset_recall"] == 0.5
    with pytest.raises(ValueError, match="not decoding settings"):
        tune_decoding([post], [truth], grid={"onset_treshold": (0.4,)})
