"""Spectral augmentation of training features: random EQ and frequency masks (training only).

Held-out breaths are caught less often than training ones because their spectrum is one the
detector never heard: a network that keys on a breath's exact spectral shape fails on the next
breath source. Tilting, bending and blanking bands of the log-mel input at random, per crop,
makes an exact spectral template unreliable during training, so the detector has to lean on what
every breath shares (broadband noise, its envelope, its level under speech, where it sits
between words). Inference never augments. Off by default: the leave-one-breath-source-out check
(``training/clean/loso_check.py --spec-augment``) did not show it helping (docs/clean.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.clean.features import N_MELS
from models.clean.labels import BREATH

#: Feature units per dB of the log-mel channels (``features.normalise`` divides dB by 20).
_UNITS_PER_DB = 1.0 / 20.0


@dataclass(frozen=True)
class SpecAugment:
    """How strongly to randomise the log-mel channels of one training crop.

    ``eq_db``: largest gain of each random EQ bump; ``tilt_db``: largest tilt from the lowest to
    the highest band; ``masks``: most frequency masks per crop, each up to ``mask_bands`` wide;
    ``breath_eq_db``: largest gain of a second random EQ applied to the crop's breath frames only
    (faded in and out over a few frames), which changes a breath's timbre against the room and
    the voice around it, as another breath source would (0: off).
    """

    eq_db: float = 6.0
    tilt_db: float = 6.0
    bumps: int = 3
    masks: int = 2
    mask_bands: int = 8
    breath_eq_db: float = 0.0

    def apply(self, batch: np.ndarray, rng: np.random.Generator, *, labels: np.ndarray | None = None) -> np.ndarray:
        """Return an augmented copy of ``batch`` ``(crops, frames, FEATURE_DIM)`` float32 (``labels``:
        ``(crops, frames)`` frame classes, needed only for ``breath_eq_db``).

        Every crop gets its own EQ curve (constant in time, as a microphone or a different breath
        source would be) and its own masks, filled with that crop's mean log-mel level so a mask
        carries no level cue. The level and crest channels are left alone.
        """
        out = np.array(batch, dtype=np.float32, copy=True)
        crops = out.shape[0]
        bands = np.arange(N_MELS, dtype=np.float32)
        position = bands / (N_MELS - 1) - 0.5
        fade = np.hanning(7)[1:-1] / np.hanning(7)[1:-1].sum()
        for i in range(crops):
            out[i, :, :N_MELS] += self._curve_db(rng, self.eq_db, self.tilt_db, bands, position) * _UNITS_PER_DB
            if self.breath_eq_db > 0 and labels is not None and np.any(labels[i] == BREATH):
                weight = np.convolve((labels[i] == BREATH).astype(np.float32), fade, mode="same")
                curve = self._curve_db(rng, self.breath_eq_db, self.breath_eq_db, bands, position)
                out[i, :, :N_MELS] += (weight[:, None] * curve[None, :] * _UNITS_PER_DB).astype(np.float32)
            fill = float(out[i, :, :N_MELS].mean())
            for _ in range(int(rng.integers(0, self.masks + 1))):
                width_bands = int(rng.integers(1, self.mask_bands + 1))
                start = int(rng.integers(0, N_MELS - width_bands + 1))
                out[i, :, start:start + width_bands] = fill
        return out

    def _curve_db(self, rng: np.random.Generator, bump_db: float, tilt_db: float, bands: np.ndarray,
                  position: np.ndarray) -> np.ndarray:
        """A random EQ curve ``(N_MELS,)`` in dB: a tilt plus up to ``bumps`` smooth bumps."""
        curve_db = rng.uniform(-tilt_db, tilt_db) * position
        for _ in range(int(rng.integers(0, self.bumps + 1))):
            centre = rng.uniform(0, N_MELS - 1)
            width = rng.uniform(1.5, 10.0)
            curve_db = curve_db + rng.uniform(-bump_db, bump_db) * np.exp(-0.5 * ((bands - centre) / width) ** 2)
        return curve_db.astype(np.float32)
