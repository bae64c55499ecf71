"""Features, streaming measurement, synthesized sounds and frame labels (no TTS needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from models.clean import sounds
from models.clean.detect import _StreamingFrames, apply_signal_logic, measure_file
from models.clean.episodes import compose_episode, frame_labels
from models.clean.features import FEATURE_DIM, features_of, raw_frames
from models.clean.labels import ANALYSIS_SR, BREATH, CLICK, NUM_CLASSES, PAUSE, SPEECH
from models.clean.sources import TRAIN_BREATHS, VAL_BREATHS, Material, Pool


def test_streamed_frames_equal_whole_signal_frames() -> None:
    signal = (0.1 * np.random.default_rng(1).standard_normal(ANALYSIS_SR * 3 + 77)).astype(np.float32)
    whole = raw_frames(signal)
    stream = _StreamingFrames()
    for start in range(0, signal.shape[0], 10007):
        stream.push(signal[start:start + 10007])
    stream.push(np.zeros(0, dtype=np.float32), final=True)
    parts = stream.result()
    assert parts.frames == whole.frames == (signal.shape[0] + 159) // 160
    assert np.allclose(parts.log_mel.astype(np.float32), whole.log_mel, atol=0.05)
    assert np.allclose(parts.energy_db, whole.energy_db, atol=1e-4)


def test_file_measurement_matches_rate_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    t = np.arange(48000 * 2) / 48000
    sf.write(str(path), np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1) * 0.1, 48000)
    raw, duration_s, sr = measure_file(path)
    assert sr == 48000 and duration_s == 2.0
    assert abs(raw.frames - 200) <= 1
    assert -30 < float(np.median(raw.energy_db)) < -20  # a 0.1-amplitude sine is -23 dBFS


def test_features_are_level_normalised() -> None:
    rng = np.random.default_rng(2)
    signal = (0.1 * rng.standard_normal(ANALYSIS_SR)).astype(np.float32)
    loud, quiet = features_of(signal), features_of(signal * 0.01)
    assert loud.shape == (100, FEATURE_DIM)
    assert np.allclose(loud[:, :64], quiet[:, :64], atol=0.05)  # relative spectrum unchanged by gain
    assert np.all(loud[:, 64] > quiet[:, 64])  # the absolute level channel still tells them apart


def test_signal_logic_overrides_model_on_unambiguous_levels() -> None:
    probs = np.zeros((4, NUM_CLASSES), dtype=np.float32)
    probs[:, SPEECH] = [1, 0, 0, 0]
    probs[1:, PAUSE] = 1
    energy = np.array([-95.0, -20.0, -60.0, -25.0], dtype=np.float32)
    labels = apply_signal_logic(probs, energy, reference_db=-20.0)
    assert labels.tolist() == [PAUSE, SPEECH, PAUSE, SPEECH]


def test_loud_pause_rule_needs_speech_on_the_track() -> None:
    # Room tone and breaths only: the 90th-percentile reference is their level, not a speech level,
    # so a pause near it must stay a pause (else a silent mic would block every multitrack cut).
    probs = np.zeros((100, NUM_CLASSES), dtype=np.float32)
    probs[:, PAUSE] = 1
    energy = np.full(100, -62.0, dtype=np.float32)
    energy[::10] = -55.0
    assert set(apply_signal_logic(probs, energy, reference_db=-58.0).tolist()) == {PAUSE}
    probs[:10] = 0
    probs[:10, SPEECH] = 1  # a tenth of the track is speech: the reference is a speech level again
    labels = apply_signal_logic(probs, energy, reference_db=-58.0)
    assert np.all(labels[10:][energy[10:] > -70.0] == SPEECH)
    # ... unless the first hearing found too little speech: what a second hearing adds cannot turn it back on
    labels = apply_signal_logic(probs, energy, reference_db=-58.0, speech_level=False)
    assert set(labels[10:].tolist()) == {PAUSE}


def test_synthesized_sounds_have_the_promised_shapes() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        inhale = sounds.synth_inhale(rng)
        click = sounds.synth_click(rng)
        bump = sounds.synth_bump(rng)
        assert 0.15 * ANALYSIS_SR <= inhale.shape[0] <= 0.9 * ANALYSIS_SR
        assert click.shape[0] < 0.08 * ANALYSIS_SR
        assert np.isclose(np.max(np.abs(click)), 1.0, atol=1e-3)
        spectrum = np.abs(np.fft.rfft(bump))
        freqs = np.fft.rfftfreq(bump.shape[0], 1 / ANALYSIS_SR)
        assert freqs[np.argmax(spectrum)] < 400  # a bump is a low thump
    assert np.isclose(sounds.rms(sounds.room_tone(rng, ANALYSIS_SR)), 1.0, rtol=0.01)
    breath = sounds.synth_inhale(rng)
    reshaped = sounds.reshape_breath(rng, breath)
    assert 0.4 * breath.shape[0] <= reshaped.shape[0] <= 2.1 * breath.shape[0]
    assert np.all(np.isfinite(reshaped)) and sounds.rms(reshaped) > 0


def test_frame_labels_give_clicks_priority() -> None:
    ranks = np.zeros(1600, dtype=np.int8)
    ranks[:800] = 1  # speech rank
    ranks[805:810] = 5  # a click, five samples
    labels = frame_labels(ranks)
    assert labels[:5].tolist() == [SPEECH] * 5
    assert labels[5] == CLICK
    assert labels[6:].tolist() == [PAUSE] * 4


def test_composed_episode_has_consistent_labels() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(ANALYSIS_SR) / ANALYSIS_SR
    words = [(np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
             for f in (150, 200, 250)]
    voice = Pool.from_clips(words)
    material = Material(voices={"a": voice, "b": voice}, breaths=(Pool.from_clips([sounds.synth_inhale(rng)]),))
    episode = compose_episode(material, np.random.default_rng(5), duration_s=8.0)
    assert episode.audio.shape == (8 * ANALYSIS_SR,)
    assert episode.labels.shape == (800,)
    assert np.max(np.abs(episode.audio)) <= 1.0
    assert set(np.unique(episode.labels).tolist()) >= {SPEECH, PAUSE}
    assert BREATH in np.unique(np.concatenate([compose_episode(material, np.random.default_rng(s),
                                                               duration_s=8.0).labels for s in range(6)]))
    forced = compose_episode(material, np.random.default_rng(5), duration_s=8.0, speech=True)
    assert np.array_equal(forced.audio, episode.audio)  # forcing what was drawn changes nothing
    silent_mic = compose_episode(material, np.random.default_rng(5), duration_s=8.0, speech=False)
    assert SPEECH not in silent_mic.labels and np.any(silent_mic.labels != PAUSE)


def test_training_breaths_are_varied_and_never_from_the_held_out_soundfont() -> None:
    held_out = {preset.soundfont for preset in VAL_BREATHS}
    assert held_out and not held_out & {preset.soundfont for preset in TRAIN_BREATHS}
    assert len({preset.cache_name for preset in TRAIN_BREATHS}) == len(TRAIN_BREATHS) >= 2
    # File names are not enough: the csound bank's Breath Noise *is* TimGM6mb's recording.
    assert ("sf_GMbank.sf2", 0, 121) not in {(p.soundfont, p.bank, p.program) for p in TRAIN_BREATHS}
    rng = np.random.default_rng(8)
    centroids = []
    for make in (sounds.synth_inhale, sounds.synth_exhale, sounds.synth_sniff):
        breath = make(rng)
        assert 0.1 * ANALYSIS_SR <= breath.shape[0] <= 0.9 * ANALYSIS_SR
        assert np.all(np.isfinite(breath)) and sounds.rms(breath) > 0
        spectrum = np.abs(np.fft.rfft(breath)) ** 2
        centroids.append(float(np.sum(np.fft.rfftfreq(breath.shape[0], 1 / ANALYSIS_SR) * spectrum) / np.sum(spectrum)))
    exhale, sniff = centroids[1], centroids[2]
    assert exhale < sniff  # an open-mouth exhale is darker than a nose sniff


def test_training_episodes_mix_breath_sources() -> None:
    t = np.arange(ANALYSIS_SR) / ANALYSIS_SR
    voice = Pool.from_clips([(np.sin(2 * np.pi * 180 * t) * np.hanning(t.shape[0])).astype(np.float32)])
    rng = np.random.default_rng(9)
    recorded = (Pool.from_clips([sounds.synth_sniff(rng)]), Pool.from_clips([sounds.synth_exhale(rng)]))
    material = Material(voices={"a": voice, "b": voice}, breaths=recorded, augment_breaths=True)
    episodes = [compose_episode(material, np.random.default_rng(s), duration_s=8.0) for s in range(4)]
    assert all(np.all(np.isfinite(e.audio)) for e in episodes)
    assert BREATH in np.unique(np.concatenate([e.labels for e in episodes]))
