"""The transcription network: Onsets-and-Frames heads on a pitch-equivariant, CPU-friendly trunk.

Onsets and Frames (Hawthorne et al., 2018) predicts, per frame and key, where
notes start, where they sound and where they end, and conditions the frame
prediction on the detected onsets so a note cannot sound without an attack.
This version keeps those heads but changes the body, for a small CPU budget:

* the input is a semitone-aligned spectrogram (2 bins per semitone), and every
  layer is a convolution along pitch, so the same weights detect every key;
  what one key learns, all keys learn (the idea behind basic-pitch);
* a *harmonic stack* shifts the first feature maps by the intervals of the
  first six partials (and one octave down) and stacks them as channels, so a
  key's detector sees its own partials side by side, and the octave below, which
  is what separates a real octave from an octave ghost;
* time is modelled by dilated temporal convolutions per key (about 0.8 s each
  side) instead of recurrent layers: parallel, fast on a CPU, and chunkable;
* a key-position plane lets the shared weights still adapt to the register;
* optionally (``input_channels=2``) a second input plane, the long-window (8192-point)
  spectrogram on the same grid, for pitch evidence in the bass.

Shapes: input features ``(batch, frames, bins)`` (one channel) or ``(batch, frames, channels, bins)``;
every head ``(batch, frames, 88)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.registry import register_arch

ARCH = "transcribe.HarmonicOnsetsFrames"
ENSEMBLE_ARCH = "transcribe.OnsetsFramesEnsemble"
N_KEYS = 88
#: Partials 1..6 (0, 12, 19.02, 24, 27.86, 31.02 semitones) and one octave down, in semitones.
HARMONIC_SEMITONES = (-12.0, 0.0, 12.0, 19.02, 24.0, 27.86, 31.02)


@dataclass(frozen=True)
class HeadOutputs:
    """Logits of onset, offset and frame, and velocity in 0..1, each ``(batch, frames, 88)``."""

    onset: torch.Tensor
    offset: torch.Tensor
    frame: torch.Tensor
    velocity: torch.Tensor


def _block(c_in: int, c_out: int, kernel: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> nn.Sequential:
    padding = (dilation[0] * (kernel[0] // 2), dilation[1] * (kernel[1] // 2))
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=padding, dilation=dilation),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class _Residual(nn.Module):
    """A dilated temporal convolution per key (optionally mixing neighbour keys), residual.

    ``(batch, channels, frames, keys)`` in and out.
    """

    def __init__(self, channels: int, dilation: int, key_kernel: int, dropout: float) -> None:
        super().__init__()
        self.body = _block(channels, channels, (3, key_kernel), (dilation, 1))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.body(x))


def _with_position(x: torch.Tensor) -> torch.Tensor:
    """Append a channel holding the pitch position (-1 at the lowest bin, +1 at the highest)."""
    batch, _, frames, bins = x.shape
    position = torch.linspace(-1.0, 1.0, bins, dtype=x.dtype, device=x.device).expand(batch, 1, frames, bins)
    return torch.cat([x, position], dim=1)


@register_arch(ARCH)
class HarmonicOnsetsFrames(nn.Module):
    """Onset, offset, frame and velocity per key from a semitone-aligned spectrogram."""

    def __init__(self, *, bins_per_semitone: int = 2, channels: tuple[int, int, int] | list[int] = (8, 16, 24),
                 dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 16),
                 frame_dilations: tuple[int, ...] | list[int] = (1, 4), dropout: float = 0.1,
                 input_channels: int = 1) -> None:
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.bins_per_semitone = bins_per_semitone
        #: Spectrogram planes the network reads (see ``models.transcribe.features.model_features``).
        self.input_channels = int(input_channels)
        self.shifts = tuple(round(s * bins_per_semitone) for s in HARMONIC_SEMITONES)
        self.input_norm = nn.BatchNorm2d(self.input_channels)
        self.local = _block(self.input_channels, c1, (3, 2 * bins_per_semitone + 1))
        self.harmonic = _block(c1 * len(self.shifts) + 1, c2, (3, 1))
        self.context = _block(c2, c2, (3, 3))
        self.to_keys = nn.Sequential(
            nn.Conv2d(c2 + 1, c3, (1, bins_per_semitone), stride=(1, bins_per_semitone)),
            nn.BatchNorm2d(c3), nn.ReLU())
        self.temporal = nn.Sequential(*[_Residual(c3, d, 3 if i == 0 else 1, dropout)
                                        for i, d in enumerate(dilations)])
        self.onset_head = nn.Conv2d(c3, 1, 1)
        self.velocity_head = nn.Conv2d(c3, 1, 1)
        # The frame branch sees the trunk and the onset probability (detached, as in
        # Onsets and Frames), so sustained activity is tied to a detected attack.
        self.frame_in = _block(c3 + 1, c3, (1, 1))
        self.frame_temporal = nn.Sequential(*[_Residual(c3, d, 3, dropout) for d in frame_dilations])
        self.frame_head = nn.Conv2d(c3, 1, 1)
        self.offset_head = nn.Conv2d(c3, 1, 1)
        # Start the heads at the label priors (about 1 frame in 100 is an onset, 1 in 8 sounds)
        # so early training learns notes, not how rare they are.
        for head, prior in ((self.onset_head, 0.01), (self.offset_head, 0.01), (self.frame_head, 0.12)):
            assert head.bias is not None
            nn.init.constant_(head.bias, float(torch.logit(torch.tensor(prior))))

    @property
    def receptive_frames(self) -> int:
        """Frames of context each side that influence one output frame."""
        return 3 + sum(self._dilations(self.temporal)) + sum(self._dilations(self.frame_temporal))

    @staticmethod
    def _dilations(blocks: nn.Sequential) -> list[int]:
        return [int(block.body[0].dilation[0]) for block in blocks]  # type: ignore[index,union-attr]

    def _harmonic_stack(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, c, frames, bins)`` to ``(batch, c * shifts, frames, bins)``: channel k at bin f
        holds the input at bin ``f + shift_k`` (zero beyond the axis)."""
        bins = x.shape[-1]
        stacked = []
        for shift in self.shifts:
            if shift >= 0:
                part = nn.functional.pad(x[..., shift:], (0, shift))
            else:
                part = nn.functional.pad(x[..., :bins + shift], (-shift, 0))
            stacked.append(part)
        return torch.cat(stacked, dim=1)

    def forward(self, features: torch.Tensor) -> HeadOutputs:
        planes = features.unsqueeze(1) if features.dim() == 3 else features.transpose(1, 2)
        x = self.local(self.input_norm(planes))  # (batch, c1, frames, bins)
        x = self.harmonic(_with_position(self._harmonic_stack(x)))
        x = self.context(x)
        keys = self.to_keys(_with_position(x))[..., :N_KEYS]  # (batch, c3, frames, 88)
        trunk = self.temporal(keys)
        onset = self.onset_head(trunk)  # (batch, 1, frames, 88)
        frame_features = self.frame_in(torch.cat([trunk, torch.sigmoid(onset).detach()], dim=1))
        frame_features = self.frame_temporal(frame_features)
        return HeadOutputs(
            onset=onset[:, 0],
            offset=self.offset_head(frame_features)[:, 0],
            frame=self.frame_head(frame_features)[:, 0],
            velocity=torch.sigmoid(self.velocity_head(trunk))[:, 0],
        )


@register_arch(ENSEMBLE_ARCH)
class OnsetsFramesEnsemble(nn.Module):
    """Several :class:`HarmonicOnsetsFrames` read the same features; their probabilities are averaged.

    Two networks trained apart (run 10, a chain of fine-tunes, and run 11, trained from scratch) miss
    different notes: on the 32 selection pieces their mean scored onset F1 0.934 against 0.926 for run 10
    alone with the same fixed decoding rules (run 11's step-3500 snapshot alone: 0.917). The heads stay
    logits (of the mean probability) so decoding cannot tell an ensemble from one network.
    """

    def __init__(self, *, members: list[dict[str, object]]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        networks = [HarmonicOnsetsFrames(**member) for member in members]  # type: ignore[arg-type]
        planes = {network.input_channels for network in networks}
        if len(planes) != 1:
            raise ValueError(f"ensemble members read different input planes: {sorted(planes)}")
        self.members = nn.ModuleList(networks)
        self.input_channels = planes.pop()
        #: Frames of context each side that influence one output frame (the widest member's).
        self.receptive_frames = max(network.receptive_frames for network in networks)

    def forward(self, features: torch.Tensor) -> HeadOutputs:
        outputs = [member(features) for member in self.members]

        def mean_logit(name: str) -> torch.Tensor:
            mean = torch.stack([torch.sigmoid(getattr(out, name)) for out in outputs]).mean(dim=0)
            return torch.logit(mean.float().clamp(1e-6, 1 - 1e-6))

        return HeadOutputs(onset=mean_logit("onset"), offset=mean_logit("offset"), frame=mean_logit("frame"),
                           velocity=torch.stack([out.velocity for out in outputs]).mean(dim=0))
