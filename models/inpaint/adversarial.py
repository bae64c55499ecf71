"""A band-spectrogram discriminator for an optional adversarial term in gap-model training.

The per-bin log-magnitude loss pulls a fill toward a smooth conditional median, while
perceptual scores such as ViSQOL compare the local structure of auditory-band spectrogram
patches. A discriminator that sees the band-level spectrogram with the gap filled (context
real, gap predicted) and the gap mask learns what real continuations look like at that
resolution; the network is trained to fool it (least-squares GAN) and to match its
intermediate features on real and filled spectrograms (feature matching, which keeps the
adversarial term stable on small batches). Every term is averaged over the positions that
overlap the gap and a few frames either side, where real and filled differ.
"""

from __future__ import annotations

import torch
import torch.nn.functional as functional
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

#: Log-spaced bands the discriminator sees (``band_levels`` in :mod:`models.inpaint.train`).
DISCRIMINATOR_BANDS = 96
#: Frames either side of the gap that the adversarial terms score (the seams; the region the
#: caller passes, ``gap_region`` in :mod:`models.inpaint.train`).
REGION_CONTEXT_FRAMES = 3


class BandDiscriminator(nn.Module):
    """``(B, 1, bands, frames)`` band levels + ``(B, frames)`` region → patch scores and features."""

    def __init__(self, channels: tuple[int, ...] = (32, 64, 64), strides: tuple[int, ...] = (1, 2, 2)) -> None:
        super().__init__()
        layers = []
        previous = 2  # band levels and the region mask
        for width, stride in zip(channels, strides, strict=True):
            layers.append(spectral_norm(nn.Conv2d(previous, width, 3, stride=stride, padding=1)))
            previous = width
        self.body = nn.ModuleList(layers)
        self.score = spectral_norm(nn.Conv2d(previous, 1, 3, padding=1))

    def forward(self, bands: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.cat([bands, region[:, None, None, :].expand_as(bands)], dim=1)
        features = []
        for layer in self.body:
            x = functional.leaky_relu(layer(x), 0.2)
            features.append(x)
        return self.score(x), features


def _region_mean(value: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean of ``value`` ``(B, C, h, w)`` over the positions whose frames overlap ``region`` ``(B, frames)``."""
    weight = functional.adaptive_max_pool1d(region[:, None, :], value.shape[-1])[:, :, None, :].expand_as(value)
    return (value * weight).sum() / (weight.sum() + 1e-6)


def discriminator_loss(discriminator: BandDiscriminator, real: torch.Tensor, filled: torch.Tensor,
                       region: torch.Tensor) -> torch.Tensor:
    """Least-squares loss: real band spectrograms score 1, filled ones 0 (the fill is not trained here)."""
    real_score, _ = discriminator(real, region)
    fake_score, _ = discriminator(filled.detach(), region)
    return _region_mean((real_score - 1.0) ** 2, region) + _region_mean(fake_score**2, region)


def generator_loss(discriminator: BandDiscriminator, real: torch.Tensor, filled: torch.Tensor,
                   region: torch.Tensor, *, feature_weight: float = 2.0) -> torch.Tensor:
    """What the network minimises: the filled spectrogram scored as real, plus ``feature_weight`` x
    the L1 distance of the discriminator's features on filled and real spectrograms."""
    with torch.no_grad():
        _, real_features = discriminator(real, region)
    fake_score, fake_features = discriminator(filled, region)
    matching = sum((_region_mean((fake - target).abs(), region)
                    for fake, target in zip(fake_features, real_features, strict=True)),
                   start=torch.zeros((), dtype=filled.dtype))
    return _region_mean((fake_score - 1.0) ** 2, region) + feature_weight * matching
