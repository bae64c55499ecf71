"""Dropout detection on simulated damage with known ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from models.inpaint.detect import DetectParams, detect_dropouts
from models.inpaint.gaps import Gap
from models.inpaint.simulate import apply_digital, apply_tape, score_detection, simulate_dropouts

SR = 22050


def music_like(seconds: float = 8.0, *, seed: int = 0) -> np.ndarray:
    """Overlapping decaying harmonic notes every 0.25 s with a treble-rich timbre and a bit of noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = 1e-4 * rng.standard_normal(n)
    t = np.arange(int(1.5 * SR)) / SR
    for onset in np.arange(0, seconds - 1.5, 0.25):
        f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
        note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12) if f0 * k < 9000)
        start = int(onset * SR)
        x[start : start + len(t)] += 0.05 * note * np.exp(-2.5 * t)
    return x


def test_digital_zeros_and_held_values_are_found_exactly() -> None:
    x = music_like()
    damaged = apply_digital(x, 30000, 30441, held=False)
    damaged = apply_digital(damaged, 80000, 80100, held=True)
    found = detect_dropouts(damaged, SR, params=DetectParams(detect_tape=False))
    # A held run starts with the last good sample, which cannot be told apart from its copies.
    assert [(g.start, g.end, g.kind) for g in found] == [(30000, 30441, "digital_zeros"),
                                                          (79999, 80100, "held_value")]
    assert all(g.confidence > 0.9 for g in found)


def test_digital_silence_at_the_file_edges_is_not_a_dropout() -> None:
    x = np.concatenate([np.zeros(SR), music_like(3.0), np.zeros(SR)])
    assert detect_dropouts(x, SR, params=DetectParams(detect_tape=False)) == []


def test_zeros_a_note_fades_into_are_a_rest_but_zeros_cutting_a_note_off_are_a_dropout() -> None:
    t = np.arange(SR) / SR
    note = 0.3 * np.sin(2 * np.pi * 440 * t)
    faded = note * np.exp(-t / 0.05)
    faded[np.abs(faded) < 2**-16] = 0.0  # a render's release reaching digital silence
    rest = np.concatenate([faded[: SR // 2], np.zeros(SR // 5), note])
    digital_only = DetectParams(detect_tape=False)
    assert detect_dropouts(rest, SR, params=digital_only) == []
    cut_off = apply_digital(np.concatenate([note, note]), SR // 2, SR // 2 + SR // 5, held=False)
    found = detect_dropouts(cut_off, SR, params=digital_only)
    assert [(g.start, g.end, g.kind) for g in found] == [(SR // 2, SR // 2 + SR // 5, "digital_zeros")]


def test_tape_dropouts_found_with_their_extent() -> None:
    x = music_like(seed=1)
    rng = np.random.default_rng(2)
    damaged = apply_tape(x, SR, 44100, 46305, rng=rng)  # 100 ms
    damaged = apply_tape(damaged, SR, 110250, 119070, rng=rng)  # 400 ms
    found = [g for g in detect_dropouts(damaged, SR) if g.kind == "tape"]
    score = score_detection([Gap(44100, 46305), Gap(110250, 119070)], found)
    assert score.true_positives == 2 and score.false_positives == 0


def test_clean_music_has_no_detections() -> None:
    assert detect_dropouts(music_like(seed=3), SR) == []


def test_simulated_mix_scores_well_and_per_channel_digital() -> None:
    x = music_like(seconds=12.0, seed=4)
    damage = simulate_dropouts(x, SR, rng=np.random.default_rng(5), count=6, kinds=("digital_zeros", "tape"))
    found = detect_dropouts(damage.samples, SR)
    assert score_detection(damage.gaps, found).f1 >= 0.8
    stereo = np.stack([x, apply_digital(x, 50000, 50300, held=False)], axis=1)
    (gap,) = detect_dropouts(stereo, SR, params=DetectParams(detect_tape=False))
    assert (gap.start, gap.end, gap.channel) == (50000, 50300, 1)


def test_clicks_are_found_when_enabled() -> None:
    x = music_like(seed=6)
    x[60000] += 0.8
    x[60001] -= 0.6
    found = detect_dropouts(x, SR, params=DetectParams(detect_clicks=True, detect_tape=False))
    assert any(g.kind == "click" and g.start <= 60000 < g.end for g in found)


def test_clipping_and_square_waves_are_not_held_value_dropouts() -> None:
    clipped = np.clip(3 * music_like(seed=7), -0.5, 0.5)
    assert [g for g in detect_dropouts(clipped, SR, params=DetectParams(detect_tape=False))] == []
    square = 0.3 * np.sign(np.sin(2 * np.pi * 110 * np.arange(2 * SR) / SR))
    assert detect_dropouts(square, SR, params=DetectParams(detect_tape=False)) == []


def test_detection_scoring_and_bench_tables() -> None:
    from models.inpaint.bench import BenchResult, DetectionRow, MethodScore, SpeedResult, markdown_tables

    truth = [Gap(100, 200), Gap(1000, 1100), Gap(5000, 5010)]
    found = [Gap(120, 210), Gap(1090, 1300), Gap(7000, 7100)]
    score = score_detection(truth, found)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 2, 2)
    assert score.precision == pytest.approx(1 / 3) and score.recall == pytest.approx(1 / 3)
    result = BenchResult(
        methods=(MethodScore("music", 100, "janssen", 8, 2.5, 2.47, 4.69, "ViSQOL MOS", 0.4),),
        detection=(DetectionRow("music", "tape", "vhs-piano", score),),
        speed=(SpeedResult(channels=2, sr=44100, gap_s=0.5, clip_s=10.0, seconds=0.6, method="model"),))
    text = markdown_tables(result)
    assert "| 100 ms | - | 2.5 / 2.47 / 4.69 / 400 | - | - |" in text
    assert "| music | tape | vhs-piano | 0.333 | 0.333 | 0.333 | 1 / 2 / 2 |" in text


def test_simulated_dropouts_only_fall_where_something_sounds() -> None:
    """A long dropout checked only by its surroundings could land on a silent rest and take nothing."""
    t = np.arange(6 * SR) / SR
    x = 0.3 * np.sin(2 * np.pi * 330 * t)
    x[2 * SR : 4 * SR] = 0.0  # a two-second rest
    damage = simulate_dropouts(x, SR, rng=np.random.default_rng(2), count=12, kinds=("digital_zeros",),
                               min_ms=200, max_ms=900)
    assert damage.gaps
    for gap in damage.gaps:
        assert np.sqrt(np.mean(x[gap.start : gap.end] ** 2)) > 0.3 * 10 ** (-60 / 20)


def test_paired_comparison_picks_the_best_rival_and_brackets_the_mean_difference() -> None:
    from models.inpaint.bench import BenchResult, markdown_tables, paired_comparison

    rng = np.random.default_rng(3)
    rival = rng.normal(4.5, 0.2, 40)
    values = {"reamend": list(rival + 0.05 + rng.normal(0, 0.01, 40)), "janssen": list(rival),
              "similarity": list(rival - 0.3), "zeros": list(rival - 1.0)}
    lead = paired_comparison("music", 400, "ViSQOL MOS", values, seed=[1])
    assert lead.rival == "janssen" and lead.count == 40
    assert lead.difference == pytest.approx(0.05, abs=0.01)
    assert 0 < lead.low < lead.difference < lead.high < 0.1  # a real lead: the interval excludes 0
    noisy = paired_comparison("music", 400, "ViSQOL MOS", {**values, "reamend": list(rival + rng.normal(0, 0.2, 40))},
                              seed=[1])
    assert noisy.low < 0 < noisy.high  # the same means with scatter: within noise
    text = markdown_tables(BenchResult(methods=(), detection=(), speed=(), paired=(lead,)))
    assert f"| music | 400 ms | ViSQOL MOS | janssen | 40 | {lead.difference:+.3f} |" in text


def speech_like(seconds: float = 8.0, *, seed: int = 0) -> np.ndarray:
    """Syllables (voiced buzz plus a hiss burst) between word pauses that decay to a steady noise floor."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = 10 ** (-70 / 20) * rng.standard_normal(n)
    position = int(0.3 * SR)
    while position < n - SR // 2:
        length = int(rng.uniform(0.15, 0.4) * SR)
        t = np.arange(length) / SR
        f0 = rng.uniform(100, 220)
        buzz = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 40) if f0 * k < 7500)
        envelope = np.sin(np.pi * t / t[-1]) ** 0.5
        syllable = 0.1 * buzz * envelope + 0.02 * rng.standard_normal(length) * envelope
        x[position : position + length] += syllable
        position += length + int(rng.uniform(0.08, 0.3) * SR)
    return x


def test_word_pauses_are_not_tape_dropouts_but_a_dropout_inside_a_word_is() -> None:
    """The dropout takes the recording's hiss with it (it is on the tape); a pause only decays to it."""
    x = speech_like(seed=3)
    level = np.convolve(x**2, np.ones(2205) / 2205, mode="same")
    loud = int(np.argmax(level[SR : -SR])) + SR  # the middle of some syllable
    damaged = apply_tape(x, SR, loud - 1100, loud + 1100, rng=np.random.default_rng(4))  # 100 ms
    found = [g for g in detect_dropouts(damaged, SR) if g.kind == "tape"]
    assert score_detection([Gap(loud - 1100, loud + 1100)], found).f1 == 1.0


def staccato(*, release_ms: float, seconds: float = 3.0) -> np.ndarray:
    """Clean (hiss-free) held notes of 250 ms, each followed by a rest: the note releases
    (``release_ms`` to -120 dB, linear in dB as a synthesizer's envelope) into exact digital
    silence, and the next note (another pitch) starts with an attack."""
    x = np.zeros(int(seconds * SR))
    rng = np.random.default_rng(8)
    held, rest = int(0.25 * SR), int(0.15 * SR)
    release = int(release_ms * 1e-3 * SR)
    for start in range(int(0.2 * SR), len(x) - held - release, held + rest):
        t = np.arange(held + release) / SR
        f0 = 196 * 2 ** (rng.integers(0, 12) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 10) if f0 * k < 9000)
        envelope = np.minimum(1.0, t / 0.004)  # attack
        envelope[held:] = 10 ** (-120 / 20 * np.arange(release) / release)
        x[start : start + held + release] = 0.1 * tone * envelope
    x[np.abs(x) < 1e-7] = 0.0  # a 24-bit render's tail ends in exact zeros
    return x


@pytest.mark.parametrize(("release_ms", "dither_dbfs"), [(200.0, None), (15.0, None), (15.0, -110.0)])
def test_rests_after_released_notes_are_not_tape_dropouts(release_ms: float, dither_dbfs: float | None) -> None:
    """A slow release (0.6 dB/ms) slides down; a fast synthesizer release falls on, into exact digital
    silence or a dither floor, far deeper than a tape drops: neither steps down by a tape's depth
    and goes on underneath (the detector before this test took every one of these rests for a dropout)."""
    x = staccato(release_ms=release_ms)
    if dither_dbfs is not None:  # no exact zeros: the release ends in a floor far under any tape hiss
        x = x + 10 ** (dither_dbfs / 20) * np.random.default_rng(12).standard_normal(len(x))
    assert [g for g in detect_dropouts(x, SR, params=DetectParams(detect_digital=False))] == []


def test_tape_dropout_over_a_held_note_in_a_clean_render_is_found() -> None:
    x = staccato(release_ms=200.0)
    note = int(0.2 * SR) + int(0.05 * SR)  # inside the first held note
    damaged = apply_tape(x, SR, note, note + int(0.15 * SR), rng=np.random.default_rng(9))  # 150 ms
    found = detect_dropouts(damaged, SR, params=DetectParams(detect_digital=False))
    assert score_detection([Gap(note, note + int(0.15 * SR))], found).f1 == 1.0


def test_a_dropout_that_outlasts_a_decrescendo_ends_at_its_recovery() -> None:
    """The music grows 20 dB quieter during a long dropout: the level comes back below where it
    fell from, but it steps up as the tape recovers, and that is where the dropout ends."""
    t = np.arange(4 * SR) / SR
    tone = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 12))
    fade = 10 ** (-20 / 20 * np.clip((t - 1.6) / 0.4, 0.0, 1.0))  # -20 dB between 1.6 s and 2.0 s
    x = 0.1 * tone * fade + 1e-6 * np.random.default_rng(10).standard_normal(len(t))
    start, end = int(1.5 * SR), int(2.2 * SR)
    damaged = apply_tape(x, SR, start, end, rng=np.random.default_rng(11))
    found = [g for g in detect_dropouts(damaged, SR) if g.kind == "tape"]
    assert score_detection([Gap(start, end)], found).true_positives == 1
    assert all(abs(g.end - end) < int(0.02 * SR) for g in found)


def test_a_note_struck_inside_a_long_dropout_does_not_end_it() -> None:
    """The note brings level and some treble back, but as a new onset (another low-band spectrum);
    the tape's recovery brings back the same spectrum, only louder, and that is where it ends."""
    n = 3 * SR
    t = np.arange(n) / SR

    def tone(f0: float) -> np.ndarray:
        return np.asarray(sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12) if f0 * k < 9000))

    x = 0.02 * tone(220) * np.exp(-0.3 * t) * (t < 2.0)
    x += 0.2 * tone(330 * 2 ** (2 / 12)) * np.clip((t - 1.3) / 0.003, 0.0, 1.0) * np.exp(-np.clip(t - 1.3, 0, None))
    x += 1e-6 * np.random.default_rng(2).standard_normal(n)
    start, end = int(1.0 * SR), int(1.6 * SR)
    damaged = apply_tape(x, SR, start, end, rng=np.random.default_rng(2))
    (gap,) = [g for g in detect_dropouts(damaged, SR) if g.kind == "tape"]
    assert abs(gap.start - start) < int(0.01 * SR) and abs(gap.end - end) < int(0.01 * SR)


@pytest.mark.parametrize("lengths", ["0,100", "100,abc", ""])
def test_bench_refuses_bad_gap_lengths(lengths: str, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    assert main(["bench", "inpaint", "--lengths", lengths]) == 2
    assert "gap lengths" in capsys.readouterr().err
