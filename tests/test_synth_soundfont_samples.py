"""The held-out-sample guard: a training preset that plays a validation recording is refused.

Uses the Debian soundfonts that CI installs (timgm6mb-soundfont, csound-soundfont); the csound
bank's Breath Noise is TimGM6mb's "Bottle Blow" sample, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models.synth.soundfont_samples import HeldOutSampleError, assert_no_validation_samples, preset_samples
from models.synth.sources import find_soundfont


def _font(name: str) -> Path:
    try:
        return find_soundfont(name)
    except FileNotFoundError:
        pytest.skip(f"{name} is not installed")


def test_csound_breath_noise_is_refused_as_held_out_material() -> None:
    csound, timgm = _font("sf_GMbank.sf2"), _font("TimGM6mb.sf2")
    with pytest.raises(HeldOutSampleError, match="Bottle Blow"):
        assert_no_validation_samples(csound, bank=0, program=121, validation=(timgm,))


def test_a_preset_with_its_own_recordings_passes() -> None:
    csound, timgm = _font("sf_GMbank.sf2"), _font("TimGM6mb.sf2")
    wind = assert_no_validation_samples(csound, bank=3, program=122, validation=(timgm,))
    assert set(wind.digests) == {"Ocean Wave"}
    # The same recording compared with itself is caught: the check is by content, not by name.
    with pytest.raises(HeldOutSampleError):
        assert_no_validation_samples(csound, bank=3, program=122, validation=(csound,))


def test_unknown_preset_is_a_clear_error() -> None:
    from models.errors import UserInputError

    with pytest.raises(UserInputError, match="no preset 5:99"):
        preset_samples(_font("TimGM6mb.sf2"), bank=5, program=99)
