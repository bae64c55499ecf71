"""Training-time spectral augmentation: random EQ and frequency masks on the log-mel channels only."""

from __future__ import annotations

import numpy as np

from models.clean.augment import SpecAugment
from models.clean.features import FEATURE_DIM, N_MELS
from models.clean.labels import BREATH


def test_eq_is_constant_in_time_and_level_channels_untouched() -> None:
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(8, 120, FEATURE_DIM)).astype(np.float32)
    original = batch.copy()
    out = SpecAugment(masks=0).apply(batch, np.random.default_rng(1))
    assert np.array_equal(batch, original)  # the input crop is not modified
    assert out.shape == batch.shape and out.dtype == np.float32
    assert np.array_equal(out[:, :, N_MELS:], batch[:, :, N_MELS:])
    gain = out[:, :, :N_MELS] - batch[:, :, :N_MELS]
    np.testing.assert_allclose(gain, np.broadcast_to(gain[:, :1], gain.shape), atol=1e-5)
    # Within the configured range: tilt +-6 dB plus up to three +-6 dB bumps, in feature units (dB / 20).
    assert np.abs(gain).max() <= (6.0 + 3 * 6.0) / 20.0
    assert np.abs(gain).max() > 0.01  # something was actually changed


def test_masks_flatten_whole_bands_of_a_crop() -> None:
    rng = np.random.default_rng(2)
    batch = rng.normal(size=(16, 50, FEATURE_DIM)).astype(np.float32)
    out = SpecAugment(eq_db=0.0, tilt_db=0.0, masks=2, mask_bands=8).apply(batch, np.random.default_rng(3))
    flat_bands = np.ptp(out[:, :, :N_MELS], axis=1) == 0.0  # (crops, bands): constant over time
    assert flat_bands.any()
    assert flat_bands.sum(axis=1).max() <= 16  # at most two masks of at most 8 bands per crop


def test_breath_eq_changes_only_breath_frames_and_their_fades() -> None:
    batch = np.zeros((2, 40, FEATURE_DIM), dtype=np.float32)
    labels = np.zeros((2, 40), dtype=np.int64)
    labels[0, 10:20] = BREATH
    out = SpecAugment(eq_db=0.0, tilt_db=0.0, masks=0, breath_eq_db=10.0).apply(
        batch, np.random.default_rng(0), labels=labels)
    changed = np.abs(out[:, :, :N_MELS]).max(axis=2) > 0
    assert changed[0, 10:20].all()
    assert not changed[0, :8].any() and not changed[0, 22:].any()  # a two-frame fade at most
    assert not changed[1].any()  # a crop without breaths is left as it was
