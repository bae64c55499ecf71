"""The frame classifier: dilated 1-D convolutions for local shape, a small BiGRU for context.

Clicks and bumps are local (a few frames); telling a breath from a soft word or
a pause inside a phrase from a long pause needs a second or so of context,
which the bidirectional GRU provides at a few hundred thousand parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from models.clean.features import FEATURE_DIM
from models.clean.labels import NUM_CLASSES
from models.registry import register_arch

ARCH = "clean.FrameNet"


@register_arch(ARCH)
class FrameNet(nn.Module):
    """``(batch, frames, FEATURE_DIM)`` features to ``(batch, frames, NUM_CLASSES)`` logits."""

    def __init__(self, *, feature_dim: int = FEATURE_DIM, channels: int = 96, hidden: int = 64,
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(feature_dim, channels, kernel_size=5, padding=2),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size=5, padding=4, dilation=2),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel_size=3, padding=4, dilation=4),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
        )
        self.gru = nn.GRU(channels, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden + channels, num_classes)

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        """What the head reads, ``(batch, frames, channels + 2*hidden)``: the frame embedding
        in which per-recording adaptation (:mod:`models.clean.adapt`) compares frames."""
        local = self.conv(features.transpose(1, 2)).transpose(1, 2)  # (batch, frames, channels)
        context, _ = self.gru(local)  # (batch, frames, 2*hidden)
        return torch.cat([local, context], dim=-1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(features))


ENSEMBLE_ARCH = "clean.FrameNetEnsemble"


@register_arch(ENSEMBLE_ARCH)
class FrameNetEnsemble(nn.Module):
    """Several :class:`FrameNet` trained on the same data from different starts, averaged.

    A breath timbre none of the training sources has is where single models disagree; the mean
    of their class probabilities is steadier there than either one. ``forward`` returns the log
    of that mean, so a softmax (as every caller applies) gives back the averaged probabilities:
    ``(batch, frames, FEATURE_DIM)`` features to ``(batch, frames, NUM_CLASSES)`` log-probabilities.
    """

    def __init__(self, *, members: int = 2, feature_dim: int = FEATURE_DIM, channels: int = 96, hidden: int = 64,
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.members = nn.ModuleList(
            FrameNet(feature_dim=feature_dim, channels=channels, hidden=hidden, num_classes=num_classes)
            for _ in range(members))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(member(features), dim=-1) for member in self.members]).mean(dim=0)
        return torch.log(probs.clamp_min(1e-12))
