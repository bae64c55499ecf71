"""The learned gap model: a bidirectional dilated convolution over spectrogram frames.

Frequency bins are the channels and time is the axis the convolutions run
along, so each output frame sees about three seconds of context on both sides
(receptive field 1 + 2·(1+2+…+64) frames at 11.6 ms). The network does not
paint a gap from nothing: its input has the gap filled with a per-bin linear
interpolation (in log magnitude) between the last frame before and the first
frame after the gap, and it predicts a correction to that baseline. That prior
makes a small model, trained briefly on a CPU, useful from the first steps.
Phase is not predicted; :mod:`models.inpaint.spectral` reconstructs it so that
the waveform is consistent with the real samples on both sides.
"""

from __future__ import annotations

import torch
from torch import nn

from models.inpaint.stft import MODEL_BINS
from models.registry import register_arch

#: Log-magnitude floor: ``log(|X| + LOG_FLOOR)`` with a Hann-windowed 1024-point STFT of audio in [-1, 1].
LOG_FLOOR = 1e-3


class _Block(nn.Module):
    def __init__(self, hidden: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, hidden)
        self.conv = nn.Conv1d(hidden, hidden, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(hidden, hidden, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(self.act(self.conv(self.norm(x))))


@register_arch("inpaint.SpectralGapNet")
class SpectralGapNet(nn.Module):
    """``(batch, bins, frames)`` log magnitudes + ``(batch, frames)`` gap mask → log magnitudes.

    With ``copy_input``, the network also sees the log magnitudes of the best
    similarity copy (the passage elsewhere in the recording whose surroundings
    match the gap's) and how well it matched, and learns when to trust it:
    music repeats itself, and the recording at hand knows its own timbre better
    than any training set.

    With ``janssen_input``, it also sees the log magnitudes of a Janssen AR fill of
    the gap (given for short gaps only, flagged when present): Janssen continues
    stationary partials almost exactly, which a smooth magnitude guess cannot.
    """

    def __init__(self, bins: int = MODEL_BINS, hidden: int = 160,
                 dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64), copy_input: bool = False,
                 janssen_input: bool = False) -> None:
        super().__init__()
        self.bins = bins
        self.copy_input = copy_input
        self.janssen_input = janssen_input
        inputs = (bins + 1) * (1 + int(copy_input) + int(janssen_input))
        self.inp = nn.Conv1d(inputs, hidden, 1)
        self.blocks = nn.Sequential(*[_Block(hidden, d) for d in dilations])
        self.out = nn.Conv1d(hidden, bins, 1)
        # Start as the interpolation baseline: the correction is learned from zero.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)  # type: ignore[arg-type]

    def forward(self, log_mag: torch.Tensor, mask: torch.Tensor, copy_log_mag: torch.Tensor | None = None,
                copy_score: torch.Tensor | None = None, janssen_log_mag: torch.Tensor | None = None,
                janssen_given: torch.Tensor | None = None) -> torch.Tensor:
        """``log_mag`` (B, F, T) with anything in the gap; ``mask`` (B, T), 1 = missing;
        ``copy_log_mag`` (B, F, T) the similarity copy (read in the gap only) and ``copy_score``
        (B,) its match score, 0 when there is none; ``janssen_log_mag`` (B, F, T) a Janssen fill
        (read in the gap only) and ``janssen_given`` (B,) 1 where one was computed. Returns (B, F, T).

        Known frames are passed through unchanged; only masked frames are predicted.
        """
        gate = mask.unsqueeze(1)
        baseline = interpolate_gaps(log_mag, mask)
        known = (1.0 - gate) * log_mag
        level = known.sum(dim=(1, 2), keepdim=True) / ((1.0 - gate).sum(dim=2, keepdim=True) * self.bins + 1e-6)
        parts = [baseline - level, gate]
        if self.copy_input:
            if copy_log_mag is None or copy_score is None:
                copy_log_mag = baseline
                copy_score = torch.zeros(log_mag.shape[0], dtype=log_mag.dtype, device=log_mag.device)
            parts += [gate * (copy_log_mag - level), gate * copy_score.view(-1, 1, 1)]
        if self.janssen_input:
            if janssen_log_mag is None or janssen_given is None:
                janssen_log_mag = baseline
                janssen_given = torch.zeros(log_mag.shape[0], dtype=log_mag.dtype, device=log_mag.device)
            given = janssen_given.view(-1, 1, 1)
            parts += [gate * given * (janssen_log_mag - level), gate * given]
        delta = self.out(self.blocks(self.inp(torch.cat(parts, dim=1))))
        return baseline + gate * delta


def interpolate_gaps(log_mag: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-bin linear interpolation across every masked run (flat extension at the edges).

    ``log_mag`` (B, F, T), ``mask`` (B, T) with 1 = missing → (B, F, T).
    """
    batch, _, frames = log_mag.shape
    index = torch.arange(frames, device=log_mag.device).expand(batch, frames)
    known = mask < 0.5
    big = frames * 4
    # Position of the nearest known frame at or before / at or after each frame.
    left = torch.where(known, index, torch.full_like(index, -big)).cummax(dim=1).values
    right_src = torch.where(known, index, torch.full_like(index, big)).flip(1)
    right = (-(-right_src).cummax(dim=1).values).flip(1)
    has_left, has_right = left >= 0, right < frames
    left_c = left.clamp(0, frames - 1)
    right_c = right.clamp(0, frames - 1)
    left_val = torch.gather(log_mag, 2, left_c.unsqueeze(1).expand_as(log_mag))
    right_val = torch.gather(log_mag, 2, right_c.unsqueeze(1).expand_as(log_mag))
    span = (right - left).clamp(min=1).to(log_mag.dtype)
    weight = ((index - left).to(log_mag.dtype) / span).unsqueeze(1)
    weight = torch.where(has_left.unsqueeze(1), weight, torch.ones_like(weight))
    weight = torch.where(has_right.unsqueeze(1), weight, torch.zeros_like(weight))
    interpolated = left_val * (1 - weight) + right_val * weight
    return torch.where(known.unsqueeze(1), log_mag, interpolated)


def add_janssen_input(state_dict: dict[str, torch.Tensor], bins: int = MODEL_BINS) -> dict[str, torch.Tensor]:
    """A state dict of a network without ``janssen_input``, widened to take one.

    The new input columns start at zero, so the widened network computes exactly what
    the original did until training teaches it to read the Janssen fill: a fine-tune
    starts from the shipped model's quality, not from scratch.
    """
    weight = state_dict["inp.weight"]
    extra = torch.zeros(weight.shape[0], bins + 1, weight.shape[2], dtype=weight.dtype)
    return {**state_dict, "inp.weight": torch.cat([weight, extra], dim=1)}
