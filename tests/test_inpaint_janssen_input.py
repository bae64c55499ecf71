"""The gap network's Janssen input: widened without changing a prediction, fed as in training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models.ar
from models.inpaint.dataset import Clip
from models.inpaint.network import SpectralGapNet, add_janssen_input
from models.inpaint.spectral import SpectralParams, spectral_fill
from models.inpaint.train import HOP, ExampleSampler, TrainConfig, gap_loss, log_magnitude


def _widened_pair() -> tuple[SpectralGapNet, SpectralGapNet]:
    torch.manual_seed(0)
    plain = SpectralGapNet(hidden=16, dilations=(1, 2), copy_input=True)
    torch.nn.init.normal_(plain.out.weight, std=0.05)  # a "trained" network: not the zero-start prior
    wide = SpectralGapNet(hidden=16, dilations=(1, 2), copy_input=True, janssen_input=True)
    wide.load_state_dict(add_janssen_input(plain.state_dict()))
    return plain.eval(), wide.eval()


def test_a_widened_network_predicts_exactly_what_it_did_before_training_on_the_new_input() -> None:
    plain, wide = _widened_pair()
    log_mag = torch.randn(2, 513, 40)
    mask = torch.zeros(2, 40)
    mask[:, 15:25] = 1.0
    copy, score = torch.randn(2, 513, 40), torch.tensor([0.5, 0.0])
    janssen = torch.randn(2, 513, 40)
    with torch.no_grad():
        before = plain(log_mag, mask, copy, score)
        assert torch.allclose(wide(log_mag, mask, copy, score, janssen, torch.ones(2)), before, atol=1e-6)
        assert torch.allclose(wide(log_mag, mask, copy, score), before, atol=1e-6)
        # Once its new weights are nonzero, the fill given changes the gap's prediction only.
        torch.nn.init.normal_(wide.inp.weight, std=0.05)
        given = wide(log_mag, mask, copy, score, janssen, torch.ones(2))
        other = wide(log_mag, mask, copy, score, janssen + 1.0, torch.ones(2))
    assert torch.equal(given[..., :15], other[..., :15]) and not torch.allclose(given[..., 15:25], other[..., 15:25])


def test_training_examples_carry_a_janssen_fill_for_short_gaps_only() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(5 * 22050) / 22050
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    clips = [Clip(name="tone", samples=tone, kind="music")]
    config = TrainConfig(batch=8, frames=96, min_gap_s=0.03, max_gap_s=0.4, copy_input=False,
                         janssen_input=True, janssen_max_gap_s=0.12)
    batch = ExampleSampler(clips, [], config).batch(3)
    gap_s = (batch.mask.sum(dim=1) - 4) * HOP / 22050
    given = batch.janssen_given > 0
    assert given.any() and not given.all()
    assert torch.equal(given, gap_s <= 0.12 + 1e-6)
    for row in np.flatnonzero(given.numpy()):
        first = int(np.flatnonzero(batch.mask[row].numpy())[0])
        outside = slice(0, (first + 2) * HOP)
        assert torch.equal(batch.janssen_audio[row, outside], batch.audio[row, outside])
        # A held tone is what Janssen continues almost exactly: the fill is close to the truth.
        error = batch.janssen_audio[row] - batch.audio[row]
        assert float(error.pow(2).sum()) < 0.05 * float(batch.audio[row].pow(2).sum())
    assert torch.all(batch.janssen_audio[~given] == 0)
    net = SpectralGapNet(hidden=16, dilations=(1,), janssen_input=True)
    target = log_magnitude(batch.audio)
    loss = gap_loss(net(target, batch.mask, None, None, log_magnitude(batch.janssen_audio), batch.janssen_given),
                    target, batch.mask)
    loss.backward()
    assert torch.isfinite(loss) and net.inp.weight.grad is not None


@pytest.mark.parametrize(("gap_ms", "computed"), [(100, True), (300, False)])
def test_the_fill_computes_a_janssen_input_only_up_to_its_limit(monkeypatch: pytest.MonkeyPatch, gap_ms: int,
                                                                computed: bool) -> None:
    calls: list[int] = []
    real = models.ar.janssen_interpolate

    def counting(x: np.ndarray, start: int, end: int, **kwargs: object) -> np.ndarray:
        calls.append(end - start)
        return real(x, start, end, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(models.ar, "janssen_interpolate", counting)
    sr = 22050
    t = np.arange(3 * sr) / sr
    x = 0.2 * np.sin(2 * np.pi * 330 * t)
    start = int(1.4 * sr)
    end = start + gap_ms * sr // 1000
    _, wide = _widened_pair()
    filled = spectral_fill(x, sr, start, end, model=wide, params=SpectralParams(iterations=5))
    assert filled.shape == (end - start,) and np.all(np.isfinite(filled))
    assert calls == ([end - start] if computed else [])
