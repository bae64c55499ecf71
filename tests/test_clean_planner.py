"""The planner on hand-built frame analyses: pauses, breaths, margins and multitrack rules."""

from __future__ import annotations

import numpy as np
import pytest

from models.clean.detect import TrackAnalysis
from models.clean.edits import EditList
from models.clean.labels import BREATH, BUMP, CLICK, FRAME_S, NUM_CLASSES, PAUSE, SPEECH
from models.clean.planner import PlanSettings, plan, room_floor_db


def _analysis(segments: list[tuple[int, float]]) -> TrackAnalysis:
    """A track from ``(class, seconds)`` segments, with confident probabilities and plausible levels."""
    labels = np.concatenate([np.full(round(s / FRAME_S), c, dtype=np.int8) for c, s in segments])
    probs = np.full((labels.shape[0], NUM_CLASSES), 0.01, dtype=np.float32)
    probs[np.arange(labels.shape[0]), labels] = 0.95
    energy = np.where(labels == SPEECH, -20.0, np.where(labels == PAUSE, -60.0, -40.0)).astype(np.float32)
    return TrackAnalysis(probs=probs, labels=labels, energy_db=energy, reference_db=-20.0,
                         duration_s=labels.shape[0] * FRAME_S, sample_rate=48000)


def _cut_frames(edits: EditList, frames: int) -> np.ndarray:
    mask = np.zeros(frames, dtype=bool)
    for cut in edits.cuts:
        mask[round(cut.start_s / FRAME_S):round(cut.end_s / FRAME_S)] = True
    return mask


def test_long_pause_is_shortened_to_target_and_short_pause_kept() -> None:
    track = _analysis([(SPEECH, 2.0), (PAUSE, 3.0), (SPEECH, 2.0), (PAUSE, 0.3), (SPEECH, 1.0)])
    edits = plan([track], PlanSettings(max_pause_ms=1000, target_pause_ms=600))
    pauses = [e for e in edits.events if e.label == "pause"]
    assert [e.action for e in pauses] == ["shorten", "keep"]
    assert pauses[0].kept_s == pytest.approx(0.6)
    assert edits.removed_s == pytest.approx(2.4)
    cut = edits.cuts[0]
    assert cut.start_s >= 2.0 + 0.06 - 1e-9 and cut.end_s <= 5.0 - 0.06 + 1e-9  # speech margins respected


def test_never_cuts_speech_frames_or_their_margins() -> None:
    rng = np.random.default_rng(0)
    segments = []
    for _ in range(40):
        segments.append((SPEECH, float(rng.uniform(0.2, 2.0))))
        segments.append((int(rng.choice([PAUSE, BREATH, BUMP])), float(rng.uniform(0.05, 3.0))))
    track = _analysis(segments)
    settings = PlanSettings(max_pause_ms=500, target_pause_ms=300, breath_mode="remove", speech_margin_ms=50)
    cut = _cut_frames(plan([track], settings), track.frames)
    speech = track.labels == SPEECH
    near_speech = np.convolve(speech, np.ones(11), mode="same") > 0
    assert not np.any(cut & near_speech)


def test_breath_modes_attenuate_or_remove() -> None:
    segments = [(SPEECH, 1.0), (PAUSE, 0.2), (BREATH, 0.4), (PAUSE, 0.1), (SPEECH, 1.0)]
    gentle = plan([_analysis(segments)], PlanSettings(breath_mode="attenuate", breath_gain_db=-15))
    breath = next(e for e in gentle.events if e.label == "breath")
    assert breath.action == "attenuate" and breath.gain_db == -15
    assert gentle.cuts == ()
    tight = plan([_analysis(segments)], PlanSettings(breath_mode="remove", min_pause_ms=150))
    breath = next(e for e in tight.events if e.label == "breath")
    assert breath.action == "cut"
    gap = 0.7 - tight.removed_s
    assert gap >= 0.15 - 1e-9


def test_attenuated_breath_is_kept_out_of_the_pause_cut() -> None:
    segments = [(SPEECH, 1.0), (PAUSE, 2.5), (BREATH, 0.4), (PAUSE, 0.05), (SPEECH, 1.0)]
    edits = plan([_analysis(segments)], PlanSettings(breath_mode="attenuate", max_pause_ms=1000))
    breath = next(e for e in edits.events if e.label == "breath")
    assert breath.action == "attenuate"
    for cut in edits.cuts:
        assert cut.end_s <= breath.start_s + 1e-9 or cut.start_s >= breath.end_s - 1e-9


def test_click_is_repaired_and_bump_cut_inside_long_gap() -> None:
    segments = [(SPEECH, 1.0), (PAUSE, 0.3), (CLICK, 0.01), (PAUSE, 0.2), (SPEECH, 1.0),
                (PAUSE, 1.0), (BUMP, 0.2), (PAUSE, 1.0), (SPEECH, 1.0)]
    edits = plan([_analysis(segments)], PlanSettings(bump_mode="cut"))
    click = next(e for e in edits.events if e.label == "click")
    bump = next(e for e in edits.events if e.label == "bump")
    assert click.action == "repair"
    assert bump.action == "cut"


def test_multitrack_removes_time_only_where_every_track_is_silent() -> None:
    host = _analysis([(SPEECH, 1.0), (PAUSE, 3.0), (SPEECH, 1.0)])
    guest = _analysis([(PAUSE, 1.5), (SPEECH, 1.0), (PAUSE, 1.5), (BREATH, 0.5), (PAUSE, 0.5)])
    edits = plan([host, guest], PlanSettings(max_pause_ms=400, target_pause_ms=200))
    speech_any = np.zeros(host.frames, dtype=bool)
    speech_any |= host.labels == SPEECH
    speech_any[: guest.frames] |= guest.labels == SPEECH
    assert not np.any(_cut_frames(edits, host.frames) & speech_any)
    breath = next(e for e in edits.events if e.label == "breath")
    assert breath.track == 1  # handled on the guest's mic alone (the host talks over it)
    assert breath.action == "attenuate"
    assert all(e.track is None for e in edits.events if e.label == "pause")


def test_silence_only_gets_no_cuts() -> None:
    track = _analysis([(PAUSE, 5.0)])
    edits = plan([track], PlanSettings())
    assert edits.cuts == ()
    assert [e.action for e in edits.events] == ["keep"]


def test_doubtful_frames_next_to_speech_stay_protected() -> None:
    track = _analysis([(SPEECH, 1.0), (PAUSE, 3.0), (SPEECH, 1.0)])
    tail = np.arange(round(1.0 / FRAME_S), round(1.3 / FRAME_S))
    track.probs[tail, SPEECH] = 0.3  # a fading word ending the model is unsure about
    settings = PlanSettings(max_pause_ms=1000, target_pause_ms=600, speech_margin_ms=60)
    cut = _cut_frames(plan([track], settings), track.frames)
    assert not cut[: round(1.36 / FRAME_S)].any()
    assert cut.any()


def test_breath_event_takes_in_its_quiet_onset_and_tail() -> None:
    track = _analysis([(SPEECH, 1.0), (PAUSE, 0.2), (PAUSE, 0.1), (BREATH, 0.2), (PAUSE, 0.1), (PAUSE, 0.1),
                       (SPEECH, 1.0)])
    edges = np.r_[round(1.2 / FRAME_S):round(1.3 / FRAME_S), round(1.5 / FRAME_S):round(1.6 / FRAME_S)]
    track.probs[edges, BREATH] = 0.4  # labelled pause, but breath is likely
    breath = next(e for e in plan([track], PlanSettings()).events if e.label == "breath")
    assert breath.start_s == pytest.approx(1.2) and breath.end_s == pytest.approx(1.6)


def test_breath_running_into_the_next_word_stops_one_frame_short_of_it() -> None:
    # An inhale of 90 ms that touches the next word: with EVENT_GUARD_FRAMES = 1 it keeps 80 ms
    # (min_breath_ms) and is attenuated; its gain ramp (one frame) ends where the word begins.
    track = _analysis([(SPEECH, 1.0), (PAUSE, 0.3), (BREATH, 0.09), (SPEECH, 1.0)])
    settings = PlanSettings(breath_mode="remove", min_breath_ms=80, crossfade_ms=10)
    edits = plan([track], settings)
    breath = next(e for e in edits.events if e.label == "breath")
    assert breath.start_s == pytest.approx(1.3) and breath.end_s == pytest.approx(1.38)
    assert breath.action == "attenuate" and breath.gain_db is not None and breath.gain_db <= -40
    word_starts_s = 1.39
    assert breath.end_s + settings.crossfade_ms / 1000 <= word_starts_s + 1e-9
    # A breath cut off by the guard to less than min_breath_ms is left alone.
    short = _analysis([(SPEECH, 1.0), (PAUSE, 0.3), (BREATH, 0.08), (SPEECH, 1.0)])
    assert not [e for e in plan([short], settings).events if e.label == "breath"]


def _uncertain_edges(track: TrackAnalysis, frames: list[int], speech_prob: float) -> TrackAnalysis:
    """Pause frames the model half believes are speech (a word's reverberant tail or onset)."""
    probs = track.probs.copy()
    probs[frames, SPEECH] = speech_prob
    probs[frames, PAUSE] = 1.0 - speech_prob
    return TrackAnalysis(probs=probs, labels=track.labels, energy_db=track.energy_db,
                         reference_db=track.reference_db, duration_s=track.duration_s,
                         sample_rate=track.sample_rate)


def test_pause_just_over_threshold_with_uncertain_edges_is_shortened_words_intact() -> None:
    # 1.1 s pause labelled as such, whose first and last 0.1 s have a speech probability of 0.3:
    # the cautious mask sees a 0.9 s gap, the labels a 1.1 s pause, which is over max_pause_ms.
    base = _analysis([(SPEECH, 2.0), (PAUSE, 1.1), (SPEECH, 2.0)])
    edges = list(range(200, 210)) + list(range(300, 310))
    settings = PlanSettings(max_pause_ms=1000, target_pause_ms=600, speech_margin_ms=60)
    edits = plan([_uncertain_edges(base, edges, 0.3)], settings)
    pause = next(e for e in edits.events if e.label == "pause")
    assert pause.action == "shorten"
    assert edits.removed_s == pytest.approx(0.5)  # 1.1 s pause shortened to 0.6 s
    cut = edits.cuts[0]
    # The cut stays where it could go before: 60 ms clear of the uncertain frames, words untouched.
    assert cut.start_s >= 2.1 + 0.06 - 1e-9 and cut.end_s <= 3.0 - 0.06 + 1e-9
    # The same gap whose edges the model thinks are more likely speech is a 0.9 s pause: kept.
    kept = plan([_uncertain_edges(base, edges, 0.6)], settings)
    assert [e.action for e in kept.events if e.label == "pause"] == ["keep"] and not kept.cuts


def test_pause_split_by_an_uncertain_frame_is_shortened_once() -> None:
    # A 2 s pause with one frame in the middle that might be speech: two cautious gaps, one pause.
    base = _analysis([(SPEECH, 1.0), (PAUSE, 2.0), (SPEECH, 1.0)])
    edits = plan([_uncertain_edges(base, [200], 0.3)], PlanSettings(max_pause_ms=1000, target_pause_ms=600))
    assert sum(c.end_s - c.start_s for c in edits.cuts) == pytest.approx(1.4)


def _unrecognised_sound(track: TrackAnalysis, start_s: float, stop_s: float, *, level_db: float,
                        breath_prob: float) -> TrackAnalysis:
    """Frames the model calls a pause (with ``breath_prob`` of doubt) at ``level_db``: a sound it never heard."""
    probs, energy = track.probs.copy(), track.energy_db.copy()
    frames = slice(round(start_s / FRAME_S), round(stop_s / FRAME_S))
    probs[frames] = 0.0
    probs[frames, BREATH] = breath_prob
    probs[frames, PAUSE] = 1.0 - breath_prob
    energy[frames] = level_db
    return TrackAnalysis(probs=probs, labels=track.labels, energy_db=energy, reference_db=track.reference_db,
                         duration_s=track.duration_s, sample_rate=track.sample_rate)


def test_audible_sound_the_model_calls_a_pause_becomes_a_breath_event() -> None:
    base = _analysis([(SPEECH, 1.0), (PAUSE, 2.0), (SPEECH, 1.0)])  # room tone at -60 dBFS
    heard = _unrecognised_sound(base, 1.5, 1.8, level_db=-45.0, breath_prob=0.15)
    breaths = [e for e in plan([heard], PlanSettings()).events if e.label == "breath"]
    assert [(b.start_s, b.end_s) for b in breaths] == [(pytest.approx(1.5), pytest.approx(1.8))]
    # At the room tone's level (a hum, a fan: part of the floor), or without any doubt in the
    # model (AUDIBLE_EVENT_PROB), or in the reverberation right after a word: no event.
    for track in (_unrecognised_sound(base, 1.5, 1.8, level_db=-59.0, breath_prob=0.15),
                  _unrecognised_sound(base, 1.5, 1.8, level_db=-45.0, breath_prob=0.05),
                  _unrecognised_sound(base, 1.0, 1.15, level_db=-45.0, breath_prob=0.15)):
        assert not [e for e in plan([track], PlanSettings()).events if e.label == "breath"]


def test_room_floor_follows_a_steady_tone_not_the_sounds_over_it() -> None:
    energy = np.full(1000, -55.0, dtype=np.float32)
    energy[100:400] = -20.0  # a word
    energy[600:640] = -35.0  # a breath
    floor = room_floor_db(energy)
    assert floor.shape == energy.shape
    np.testing.assert_allclose(floor, -55.0)
    assert room_floor_db(np.zeros(0, dtype=np.float32)).shape == (0,)
