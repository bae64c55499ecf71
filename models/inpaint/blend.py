"""Blending a fill into its gap so neither border clicks; all of it happens inside the gap.

Samples outside a gap are never touched (the output must be bit-identical
there), so the crossfade cannot overlap the real signal. Instead each border
starts from an AR continuation of the real signal next to it, which matches
the waveform at the border, and fades (equal power) into the main fill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.ar import extrapolate


def equal_power_fade(length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_out, fade_in)`` with ``out**2 + in**2 == 1``: level stays constant for unrelated signals."""
    phase = (np.arange(length) + 0.5) / max(length, 1) * (np.pi / 2)
    return np.cos(phase), np.sin(phase)


@dataclass(frozen=True)
class BorderContinuation:
    """What a gap's samples are eased into: ``fill -> continued + weight * fill``, both ``(gap,)``.

    An affine map, so a caller that reconstructs the fill iteratively (the model's
    Griffin-Lim) can apply it on every iteration instead of once afterwards.
    """

    continued: np.ndarray
    weight: np.ndarray

    def apply(self, fill: np.ndarray) -> np.ndarray:
        return self.continued + self.weight * fill


def border_continuation(x: np.ndarray, start: int, end: int, *, fade: int, left_known: int,
                        right_known: int) -> BorderContinuation | None:
    """The equal-power crossfade from AR continuations of the real signal into a fill of ``x[start:end]``.

    ``left_known``/``right_known``: trusted samples available on each side (another
    gap or the file edge may limit them; with fewer than 32, that side is not
    faded). ``None`` when the gap is too short to fade at all.
    """
    gap = end - start
    fade = min(fade, gap // 2)
    if fade < 4:
        return None
    fade_out, fade_in = equal_power_fade(fade)
    continued = np.zeros(gap)
    weight = np.ones(gap)
    if left_known >= 32:
        context = min(left_known, 4096)
        left = extrapolate(x[start - context : start], fade, order=min(256, context // 4), context=context)
        continued[:fade] = left * fade_out
        weight[:fade] = fade_in
    if right_known >= 32:
        context = min(right_known, 4096)
        right = extrapolate(x[end : end + context], fade, order=min(256, context // 4), context=context,
                            backward=True)
        continued[gap - fade :] = right * fade_in
        weight[gap - fade :] = fade_out
    return BorderContinuation(continued=continued, weight=weight)


def blend_into_gap(
    x: np.ndarray,
    start: int,
    end: int,
    fill: np.ndarray,
    *,
    fade: int,
    left_known: int,
    right_known: int,
) -> np.ndarray:
    """``fill`` for ``x[start:end]`` with its first and last ``fade`` samples eased in from the edges
    (see :func:`border_continuation`)."""
    out = np.asarray(fill, dtype=np.float64)
    border = border_continuation(x, start, end, fade=fade, left_known=left_known, right_known=right_known)
    return out.copy() if border is None else border.apply(out)
