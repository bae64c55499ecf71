"""The procedural piano: stretched partials, dampers, velocity, re-strikes, reproducibility."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from models.synth.additive_piano import PianoVoice, inharmonicity, partial_frequencies, random_piano, render_additive
from models.synth.compositions import Note, PedalSpan, Performance

SR = 16000


def _piano(seed: int = 3, **changes: Any) -> PianoVoice:
    return replace(random_piano(np.random.default_rng(seed)), **changes)


def _render(notes: list[Note], piano: PianoVoice, *, pedal: tuple[PedalSpan, ...] = (), seed: int = 0) -> np.ndarray:
    return render_additive(Performance("test", tuple(notes), pedal), sr=SR, piano=piano,
                           rng=np.random.default_rng(seed))


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


def test_partials_are_stretched_by_the_strings_stiffness() -> None:
    piano = _piano(tuning_cents=0.0)
    freqs = partial_frequencies(piano, 60, SR)
    f0 = 440.0 * 2 ** (-9 / 12)
    n = np.arange(1, freqs.shape[0] + 1)
    np.testing.assert_allclose(freqs, n * f0 * np.sqrt(1 + inharmonicity(piano, 60) * n**2))
    assert np.all(np.diff(freqs / (n * f0)) > 0)
    assert freqs.max() < SR / 2
    # Treble strings are stiffer than the middle ones.
    assert inharmonicity(piano, 96) > 4 * inharmonicity(piano, 60)


def test_a_note_sounds_at_its_partials() -> None:
    piano = _piano(tuning_cents=0.0, beat_depth=0.0, knock_db=-60.0)
    audio = _render([Note(57, 0.0, 1.0, 100)], piano)  # A3, 220 Hz
    spectrum = np.abs(np.fft.rfft(audio[: SR] * np.hanning(SR)))
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    strongest = freqs[np.argmax(spectrum)]
    partials = partial_frequencies(piano, 57, SR)
    assert np.min(np.abs(partials - strongest)) < 2.0


def test_the_damper_stops_a_released_key_but_not_an_undamped_one() -> None:
    damped = _render([Note(60, 0.0, 0.4, 90)], _piano(damper_tau_s=0.03))
    assert _db(damped[int(0.7 * SR):int(0.9 * SR)]) < _db(damped[int(0.1 * SR):int(0.3 * SR)]) - 40
    top_damped = _render([Note(96, 0.0, 0.4, 90)], _piano(damper_tau_s=0.03, undamped_from=97))
    top_free = _render([Note(96, 0.0, 0.4, 90)], _piano(damper_tau_s=0.03, undamped_from=90))
    assert _db(top_free[int(0.7 * SR):int(0.9 * SR)]) > _db(top_damped[int(0.7 * SR):int(0.9 * SR)]) + 30


def test_the_pedal_holds_a_released_note() -> None:
    piano = _piano(damper_tau_s=0.03)
    held = _render([Note(60, 0.0, 0.3, 90)], piano, pedal=(PedalSpan(0.0, 1.5),))
    assert _db(held[int(0.7 * SR):int(0.9 * SR)]) > _db(held[int(0.1 * SR):int(0.3 * SR)]) - 25


def test_harder_blows_are_louder_and_brighter() -> None:
    piano = _piano(knock_db=-60.0)

    def centroid(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        return float(np.sum(np.fft.rfftfreq(x.shape[0], 1 / SR) * power) / np.sum(power))

    soft = _render([Note(60, 0.0, 0.5, 30)], piano)[: SR // 4]
    loud = _render([Note(60, 0.0, 0.5, 120)], piano)[: SR // 4]
    assert _db(loud) > _db(soft) + 10
    assert centroid(loud) > 1.2 * centroid(soft)


def test_a_re_struck_ringing_key_gets_a_new_attack() -> None:
    piano = _piano(restrike_tau_s=0.02, beat_depth=0.0)
    audio = _render([Note(60, 0.0, 0.5, 60), Note(60, 0.5, 1.0, 110)], piano)
    before, after = audio[int(0.4 * SR):int(0.49 * SR)], audio[int(0.52 * SR):int(0.6 * SR)]
    assert _db(after) > _db(before) + 6


def test_the_same_seed_gives_the_same_audio_and_another_seed_another_piano() -> None:
    notes = [Note(48, 0.0, 0.6, 80), Note(64, 0.2, 0.9, 70)]
    first = _render(notes, _piano(5), seed=1)
    assert np.array_equal(first, _render(notes, _piano(5), seed=1))
    assert not np.allclose(first, _render(notes, _piano(6), seed=1))
    assert first.shape == (round(1.9 * SR),) and first.dtype == np.float32
    assert np.all(np.isfinite(first)) and np.abs(first).max() > 0.01


@pytest.mark.parametrize("seed", range(20))
def test_random_pianos_stay_in_physical_ranges(seed: int) -> None:
    piano = random_piano(np.random.default_rng(seed))
    assert 1 / 10 < piano.hammer_position < 1 / 6
    assert piano.t60_high_s < piano.t60_low_s
    assert 84 <= piano.undamped_from <= 96
    assert 1e-4 < inharmonicity(piano, 60) < 2e-3
