"""The learned gap model: shapes, the interpolation prior, phase reconstruction, training step, shipped weights."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from models.inpaint.dataset import Clip
from models.inpaint.metrics import lsd_db
from models.inpaint.network import SpectralGapNet, interpolate_gaps
from models.inpaint.similarity import find_similar
from models.inpaint.spectral import SpectralParams, spectral_fill
from models.inpaint.train import ExampleSampler, TrainConfig, gap_loss, log_magnitude


def test_interpolation_prior_is_linear_inside_gaps_and_flat_at_edges() -> None:
    frames = torch.zeros(1, 3, 10)
    frames[..., :3] = 1.0
    frames[..., 7:] = 5.0
    mask = torch.zeros(1, 10)
    mask[0, 3:7] = 1.0
    out = interpolate_gaps(frames, mask)
    np.testing.assert_allclose(out[0, 0].numpy(), [1, 1, 1, 1.8, 2.6, 3.4, 4.2, 5, 5, 5], atol=1e-6)
    edge = torch.zeros(1, 10)
    edge[0, :4] = 1.0
    assert torch.allclose(interpolate_gaps(frames, edge)[0, 0, :4], frames[0, 0, 4].expand(4))


def test_untrained_network_starts_as_the_prior_and_keeps_known_frames() -> None:
    torch.manual_seed(0)
    net = SpectralGapNet(hidden=16, dilations=(1, 2)).eval()
    log_mag = torch.randn(2, 513, 40)
    mask = torch.zeros(2, 40)
    mask[:, 10:20] = 1.0
    with torch.inference_mode():
        out = net(log_mag, mask)
    assert out.shape == log_mag.shape
    assert torch.equal(out[..., :10], log_mag[..., :10]) and torch.equal(out[..., 20:], log_mag[..., 20:])
    assert torch.allclose(out, interpolate_gaps(log_mag, mask))


def test_spectral_fill_is_continuous_and_spectrally_close() -> None:
    sr = 22050
    t = np.arange(3 * sr) / sr
    x = 0.2 * (np.sin(2 * np.pi * 330 * t) + 0.5 * np.sin(2 * np.pi * 990 * t))
    start, end = int(1.4 * sr), int(1.6 * sr)
    net = SpectralGapNet(hidden=16, dilations=(1,)).eval()
    match = find_similar(x, sr, start, end)
    filled = spectral_fill(x, sr, start, end, model=net, match=match, params=SpectralParams(iterations=30))
    assert filled.shape == (end - start,) and np.all(np.isfinite(filled))
    estimate = x.copy()
    estimate[start:end] = filled
    zeroed = x.copy()
    zeroed[start:end] = 0.0
    assert lsd_db(x, estimate, sr, start, end) < 0.5 * lsd_db(x, zeroed, sr, start, end)


def test_one_training_step_with_similarity_copies() -> None:
    rng = np.random.default_rng(0)
    bar = (0.1 * rng.standard_normal(22050)).astype(np.float32)
    clips = [Clip(name=f"c{i}", samples=np.tile(bar, 5) * (i + 1), kind="music") for i in range(2)]
    config = TrainConfig(batch=2, frames=64, min_gap_s=0.05, max_gap_s=0.2)
    batch = ExampleSampler(clips, [], config).batch(0)
    assert batch.audio.shape == batch.copy_audio.shape == (2, 63 * 256) and batch.mask.shape == (2, 64)
    assert torch.all(batch.mask[:, :20] == 0) and torch.all(batch.mask.sum(dim=1) >= 4) and not batch.speech.any()
    # The clips repeat every second: the copy found for each gap is the same music.
    gate = batch.mask.unsqueeze(1) > 0
    target = log_magnitude(batch.audio)
    copy = log_magnitude(batch.copy_audio)
    assert torch.all(batch.copy_score > 0.9) and (target - copy)[gate.expand_as(target)].abs().mean() < 0.5
    net = SpectralGapNet(hidden=16, dilations=(1, 2), copy_input=True)
    loss = gap_loss(net(target, batch.mask, copy, batch.copy_score), target, batch.mask)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in net.parameters())


def test_shipped_weights_load_and_beat_the_prior_on_a_chord() -> None:
    from models.registry import load_model

    model = load_model("inpaint-gapnet", device="cpu")
    assert isinstance(model, SpectralGapNet) and not model.training
    sr = 22050
    t = np.arange(4 * sr) / sr
    x = 0.2 * np.sum([np.sin(2 * np.pi * f * t) * np.exp(-0.5 * t) for f in (262.0, 330.0, 392.0)], axis=0)
    start, end = 2 * sr, 2 * sr + sr // 4
    filled = spectral_fill(x, sr, start, end, model=model, params=SpectralParams(iterations=40))
    estimate = x.copy()
    estimate[start:end] = filled
    assert lsd_db(x, estimate, sr, start, end) < 6.0


def test_resumable_state_is_compact_and_loads_back_as_float32() -> None:
    from models.inpaint.train import compact_optimizer_state

    net = SpectralGapNet(hidden=16, dilations=(1,))
    optimizer = torch.optim.AdamW(net.parameters())
    net(torch.randn(1, 513, 20), torch.ones(1, 20)).sum().backward()
    optimizer.step()
    compact = compact_optimizer_state(optimizer.state_dict())
    assert compact["state"][0]["exp_avg"].dtype == torch.bfloat16
    restored = torch.optim.AdamW(net.parameters())
    restored.load_state_dict(compact)
    assert restored.state_dict()["state"][0]["exp_avg_sq"].dtype == torch.float32


def test_a_later_stage_warms_up_anneals_again_and_resumes_on_its_curve() -> None:
    from models.inpaint.train import stage_schedule

    def optimizer_for(net: torch.nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(net.parameters(), lr=1e-3)

    def advance(optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
                count: int) -> list[float]:
        rates = []
        for _ in range(count):
            optimizer.step()
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
        return rates

    net = SpectralGapNet(hidden=16, dilations=(1,))
    optimizer = optimizer_for(net)
    first = TrainConfig(steps=20, lr=1e-3)
    assert advance(optimizer, stage_schedule(optimizer, first, 0), 20)[-1] < 1e-6
    second = TrainConfig(steps=60, lr=3e-4, schedule_from=20)
    scheduler = stage_schedule(optimizer, second, 20)
    assert abs(optimizer.param_groups[0]["lr"] - 3e-4 / 25) < 1e-9  # a fresh warm-up at the new peak
    rates = advance(optimizer, scheduler, 10)
    assert max(rates) > 2.5e-4
    # Stopped at step 30 and resumed from the saved optimizer state: the same curve goes on.
    resumed = optimizer_for(net)
    resumed.load_state_dict(optimizer.state_dict())
    rest = advance(resumed, stage_schedule(resumed, second, 30), 30)
    np.testing.assert_allclose(rest, advance(optimizer, scheduler, 30), rtol=1e-9)
    assert rest[-1] < 1e-7


def test_band_limited_examples_match_the_padding_of_low_rate_input() -> None:
    from models.inpaint.network import LOG_FLOOR
    from models.inpaint.spectral import _model_bins
    from models.inpaint.stft import StftGrid, stft
    from models.inpaint.train import band_limited, band_limits

    speech = np.arange(800) < 400
    keep = band_limits(speech, 0.5, np.random.default_rng(0))
    assert set(np.unique(keep)) <= {513, 373, 187}
    assert 0.4 < np.mean(keep[speech] < 513) < 0.6 and 0.07 < np.mean(keep[~speech] < 513) < 0.18
    # What the model sees of 16 kHz audio: 373 real bins, the rest at the floor.
    x = np.random.default_rng(1).standard_normal(16000)
    padded = _model_bins(np.log(np.abs(stft(x, StftGrid.for_rate(16000))) + LOG_FLOOR).T)
    assert np.all(padded[373:] == np.log(LOG_FLOOR)) and np.all(padded[372] > np.log(LOG_FLOOR))
    full = torch.randn(2, 513, 10)
    limited = band_limited(full, np.array([373, 513]))
    assert torch.all(limited[0, 373:] == float(np.log(LOG_FLOOR))) and torch.equal(limited[0, :373], full[0, :373])
    assert torch.equal(limited[1], full[1])


def test_power_bands_cover_every_bin_once_and_widen_with_frequency() -> None:
    from models.inpaint.train import power_band_edges

    edges = power_band_edges(513, 16)
    assert edges[0][0] == 0 and edges[-1][1] == 513
    assert all(a[1] == b[0] for a, b in itertools.pairwise(edges))
    widths = [hi - lo for lo, hi in edges]
    assert widths[-1] > 10 * widths[1]


def test_band_power_loss_measures_the_fills_loudness_in_the_gap_only() -> None:
    from models.inpaint.train import band_power_loss

    torch.manual_seed(0)
    target = torch.randn(2, 513, 40)
    mask = torch.zeros(2, 40)
    mask[:, 10:22] = 1.0
    gate = mask.unsqueeze(1)
    assert float(band_power_loss(target, target, mask)) == 0.0
    # Frames outside the gap do not count; a fill 0.4 neper (3.5 dB) too quiet in every bin costs 0.4.
    assert float(band_power_loss(target + 3.0 * (1 - gate), target, mask)) < 1e-5
    assert abs(float(band_power_loss(target - 0.4 * gate, target, mask)) - 0.4) < 1e-4
    # A fill at each bin's level but without its peaks is too quiet in power, and the loss says so:
    # the per-bin median (what a log-magnitude loss predicts) sits below the mean power.
    median = target.median(dim=2, keepdim=True).values.expand_as(target)
    flat = torch.where(gate > 0, median, target).clone().requires_grad_(True)
    loss = band_power_loss(flat, target, mask)
    loss.backward()
    assert float(loss.detach()) > 0.3
    assert flat.grad is not None and float(flat.grad[gate.expand_as(target) > 0].sum()) < 0  # pushes it up
    assert float(flat.grad[gate.expand_as(target) == 0].abs().sum()) == 0.0


def test_a_training_step_with_the_power_term_reaches_every_parameter() -> None:
    from models.inpaint.train import band_power_loss

    torch.manual_seed(1)
    target = torch.randn(2, 513, 48)
    mask = torch.zeros(2, 48)
    mask[:, 20:30] = 1.0
    net = SpectralGapNet(hidden=16, dilations=(1, 2))
    torch.nn.init.normal_(net.out.weight, std=0.01)  # off the zero start, so gradients reach the body
    prediction = net(target, mask)
    loss = gap_loss(prediction, target, mask) + 1.0 * band_power_loss(prediction, target, mask)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_band_ssim_loss_scores_structure_around_the_gap_and_prefers_contrast_to_a_smooth_median() -> None:
    from models.inpaint.train import band_ssim_loss

    torch.manual_seed(2)
    target = torch.randn(2, 513, 60)
    mask = torch.zeros(2, 60)
    mask[:, 20:30] = 1.0
    assert float(band_ssim_loss(target, target, mask)) == 0.0
    # Far from the gap (beyond its few frames of context and the window) nothing is scored.
    far = target.clone()
    far[..., 45:] += 2.0
    assert float(band_ssim_loss(far, target, mask)) < 1e-6
    # A flat fill at the gap's mean level loses the bands' structure; the truth shifted 0.3 neper
    # keeps it. Per bin the shifted one is off by 0.3 everywhere, yet SSIM ranks it the better fill.
    gate = mask.unsqueeze(1) > 0
    flat = torch.where(gate, target.mean(dim=2, keepdim=True).expand_as(target), target).requires_grad_(True)
    shifted = torch.where(gate, target + 0.3, target)
    flat_loss = band_ssim_loss(flat, target, mask)
    assert float(band_ssim_loss(shifted, target, mask)) < 0.5 * float(flat_loss.detach())
    flat_loss.backward()
    assert flat.grad is not None and float(flat.grad[gate.expand_as(target)].abs().sum()) > 0
