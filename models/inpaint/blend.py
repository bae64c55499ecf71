"""Blending a fill into its gap so neither border clicks; all of it happens inside the gap.

Samples outside a gap are never touched (the output must be bit-identical
there), so the crossfade cannot overlap the real signal. Instead each border
starts from an AR continuation of the real signal next to it, which matches
the waveform at the border, and fades (equal power) into the main fill.
"""

from __future__ import annotations

import numpy as np

from models.inpaint.ar import extrapolate


def equal_power_fade(length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_out, fade_in)`` with ``out**2 + in**2 == 1``: level stays constant for unrelated signals."""
    phase = (np.arange(length) + 0.5) / max(length, 1) * (np.pi / 2)
    return np.cos(phase), np.sin(phase)


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
    """``fill`` for ``x[start:end]`` with its first and last ``fade`` samples eased in from the edges.

    ``left_known``/``right_known``: trusted samples available on each side (another
    gap or the file edge may limit them; with none, that side is not faded).
    """
    gap = end - start
    fade = min(fade, gap // 2)
    out = np.asarray(fill, dtype=np.float64).copy()
    if fade < 4:
        return out
    fade_out, fade_in = equal_power_fade(fade)
    if left_known >= 32:
        context = min(left_known, 4096)
        left = extrapolate(x[start - context : start], fade, order=min(256, context // 4), context=context)
        out[:fade] = left * fade_out + out[:fade] * fade_in
    if right_known >= 32:
        context = min(right_known, 4096)
        right = extrapolate(x[end : end + context], fade, order=min(256, context // 4), context=context,
                            backward=True)
        out[gap - fade :] = out[gap - fade :] * fade_out + right * fade_in
    return out
