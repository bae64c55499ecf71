"""The optional adversarial term of gap-model training: what it scores, and that it learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.inpaint.adversarial import REGION_CONTEXT_FRAMES, BandDiscriminator, discriminator_loss, generator_loss
from models.inpaint.dataset import Clip
from models.inpaint.train import TrainConfig, band_levels, gap_region, train


def _spectrogram_pair() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Real band spectrograms with sharp partial-like ridges, and fills smoothed to their median."""
    torch.manual_seed(0)
    frames = 64
    real = torch.full((4, 513, frames), -4.0)
    for row in range(4):
        for partial in torch.randint(5, 400, (40,)):
            real[row, partial] = 1.0 + 0.5 * torch.randn(frames)
    mask = torch.zeros(4, frames)
    mask[:, 24:36] = 1.0
    smooth = real.mean(dim=1, keepdim=True).expand_as(real)
    filled = torch.where(mask.unsqueeze(1) > 0.5, smooth, real)
    return band_levels(real, 96), band_levels(filled, 96), mask


def test_the_region_covers_the_gap_and_three_frames_either_side() -> None:
    mask = torch.zeros(1, 20)
    mask[0, 8:11] = 1.0
    assert gap_region(mask, REGION_CONTEXT_FRAMES)[0].nonzero().flatten().tolist() == list(range(5, 14))


def test_the_discriminator_learns_to_tell_smoothed_fills_and_the_network_gets_a_gradient() -> None:
    real, filled, mask = _spectrogram_pair()
    region = gap_region(mask, REGION_CONTEXT_FRAMES)
    critic = BandDiscriminator()
    optimizer = torch.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.5, 0.9))
    first = float(discriminator_loss(critic, real, filled, region).detach())
    for _ in range(150):
        optimizer.zero_grad()
        discriminator_loss(critic, real, filled, region).backward()
        optimizer.step()
    assert float(discriminator_loss(critic, real, filled, region).detach()) < 0.5 * first
    # The network's term is larger for the smoothed fill than for the truth, and reaches the fill.
    fill = filled.clone().requires_grad_(True)
    term = generator_loss(critic, real, fill, region)
    assert float(term.detach()) > float(generator_loss(critic, real, real, region).detach()) + 0.1
    term.backward()
    assert fill.grad is not None and float(fill.grad.abs().sum()) > 0


def test_training_with_the_adversarial_term_saves_and_resumes_the_discriminator(tmp_path: Path,
                                                                               monkeypatch: object) -> None:
    import models.inpaint.train as training

    rng = np.random.default_rng(0)
    bar = (0.1 * rng.standard_normal(22050)).astype(np.float32)
    clips = [Clip(name=f"c{i}", samples=np.tile(bar, 5) * (i + 1), kind="music") for i in range(2)]
    monkeypatch.setattr(training, "music_clips", lambda split, count: clips)  # type: ignore[attr-defined]
    monkeypatch.setattr(training, "speech_clips", lambda split, count: [])  # type: ignore[attr-defined]
    checkpoint = tmp_path / "state.pt"
    config = TrainConfig(steps=3, batch=2, frames=64, hidden=16, min_gap_s=0.05, max_gap_s=0.2,
                         adversarial_weight=0.1, speech_share=0.0)
    train(config, checkpoint=checkpoint, weights_out=tmp_path / "w.pt")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert state["step"] == 3 and set(state["discriminator"]) == {"net", "optimizer"}
    assert state["discriminator"]["optimizer"]["state"], "the discriminator took optimizer steps"
    train(TrainConfig(**{**config.__dict__, "steps": 5}), checkpoint=checkpoint, weights_out=tmp_path / "w.pt")
    assert torch.load(checkpoint, map_location="cpu", weights_only=True)["step"] == 5
