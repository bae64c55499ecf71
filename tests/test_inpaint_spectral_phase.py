"""Phase reconstruction of long-gap fills: the start propagated from both borders, the borders eased in."""

from __future__ import annotations

import numpy as np
import torch

from models.inpaint.metrics import snr_db
from models.inpaint.network import LOG_FLOOR
from models.inpaint.spectral import SpectralParams, propagated_phase, spectral_fill
from models.inpaint.stft import StftGrid, stft

SR = 22050


def _partials(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return 0.2 * np.sin(2 * np.pi * 330.3 * t + 0.4) + 0.1 * np.sin(2 * np.pi * 991.7 * t + 2.0)


class _TrueMagnitudes:
    """Stands in for the network: returns the clean signal's log magnitudes (an oracle)."""

    copy_input = False

    def __init__(self, clean: np.ndarray) -> None:
        self.log_mag = np.log(np.abs(stft(clean, StftGrid.for_rate(SR))) + LOG_FLOOR).T

    def __call__(self, log_mag: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        assert log_mag.shape[-1] == self.log_mag.shape[1]
        return torch.from_numpy(self.log_mag[None].astype(np.float32))


def test_propagated_phase_continues_stationary_partials_from_either_side() -> None:
    grid = StftGrid.for_rate(SR)
    spec = stft(_partials(), grid)
    f0, f1 = 100, 112
    missing = np.zeros(spec.shape[0], dtype=bool)
    missing[f0:f1] = True
    peak = int(np.argmax(np.abs(spec[50])))
    true = spec[f0:f1, peak] / np.abs(spec[f0:f1, peak])
    both = propagated_phase(spec, missing, f0, f1, hop=grid.hop, n_fft=grid.n_fft)
    assert both is not None and both.shape == (f1 - f0, spec.shape[1])
    assert np.max(np.abs(np.angle(both[:, peak] / true))) < 0.05
    missing[f1:] = True  # nothing known on the right: continued from the left alone
    left = propagated_phase(spec, missing, f0, f1, hop=grid.hop, n_fft=grid.n_fft)
    assert left is not None and np.max(np.abs(np.angle(left[:, peak] / true))) < 0.05
    missing[: f0] = True
    assert propagated_phase(spec, missing, f0, f1, hop=grid.hop, n_fft=grid.n_fft) is None


def test_propagated_start_recovers_the_waveform_that_noise_does_not() -> None:
    clean = _partials()
    start, end = int(1.4 * SR), int(1.6 * SR)
    damaged = clean.copy()
    damaged[start:end] = 0.0
    oracle = _TrueMagnitudes(clean)
    snrs = {}
    for phase_start in ("propagate", "copy"):  # "copy" without a match starts from noise
        params = SpectralParams(iterations=0, phase_start=phase_start)
        filled = spectral_fill(damaged, SR, start, end, model=oracle, params=params)
        snrs[phase_start] = snr_db(clean[start:end], filled)
    assert snrs["propagate"] > 20.0 > 3.0 > snrs["copy"]


def test_borders_start_from_the_real_signal_whatever_the_magnitudes() -> None:
    clean = _partials()
    start, end = int(1.4 * SR), int(1.6 * SR)
    damaged = clean.copy()
    damaged[start:end] = 0.0
    t = np.arange(len(clean)) / SR
    wrong = _TrueMagnitudes(0.3 * np.sin(2 * np.pi * 523.0 * t))  # another note's magnitudes in the gap
    errors = {}
    for fade in (0, 400):
        filled = spectral_fill(damaged, SR, start, end, model=wrong, params=SpectralParams(iterations=10),
                               fade=fade, left_known=start, right_known=len(clean) - end)
        assert filled.shape == (end - start,)
        errors[fade] = max(np.abs(filled[:3] - clean[start : start + 3]).max(),
                           np.abs(filled[-3:] - clean[end - 3 : end]).max())
    assert errors[400] < 5e-3 < 0.05 < errors[0]
