"""Blending a fill into its gap so neither border clicks; all of it happens inside the gap.

Samples outside a gap are never touched (the output must be bit-identical
there), so the crossfade cannot overlap the real signal. Instead each border
starts from an AR continuation of the real signal next to it, which matches
the waveform at the border, and fades into the main fill (equal power for
similarity copies; equal gain for model fills, whose phase reconstruction makes
the fill agree with the continuation).
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


def equal_gain_fade(length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_out, fade_in)`` with ``out + in == 1`` (raised cosine): level stays constant for signals in phase."""
    phase = (np.arange(length) + 0.5) / max(length, 1) * np.pi
    fade_in = 0.5 - 0.5 * np.cos(phase)
    return 1.0 - fade_in, fade_in


#: Default AR continuation: one ``(context, order)`` in samples.
DEFAULT_AR_CHOICES: tuple[tuple[int, int], ...] = ((4096, 256),)


def border_continuation(x: np.ndarray, start: int, end: int, *, fade: int, left_known: int,
                        right_known: int, equal_gain: bool = False,
                        ar_choices: tuple[tuple[int, int], ...] = DEFAULT_AR_CHOICES,
                        ar_margin: float = 1.0) -> BorderContinuation | None:
    """The crossfade from AR continuations of the real signal into a fill of ``x[start:end]``.

    ``left_known``/``right_known``: trusted samples available on each side (another
    gap or the file edge may limit them; with fewer than 32, that side is not
    faded). ``None`` when the gap is too short to fade at all. ``equal_gain``: a
    raised-cosine fade (``out + in == 1``) instead of equal power, right when the
    continuation and the fill agree in phase. ``ar_choices``: ``(context, order)``
    candidates in samples, the first the default; each side uses another one only when
    it predicts the last ``fade`` known samples from those before them with less than
    ``ar_margin`` times the default's squared error (see :func:`continue_side`).
    """
    gap = end - start
    fade = min(fade, gap // 2)
    if fade < 4:
        return None
    fade_out, fade_in = (equal_gain_fade if equal_gain else equal_power_fade)(fade)
    continued = np.zeros(gap)
    weight = np.ones(gap)
    longest = max(c for c, _ in ar_choices) + fade
    if left_known >= 32:
        left = continue_side(x[start - min(left_known, longest) : start], fade, ar_choices, margin=ar_margin)
        continued[:fade] = left * fade_out
        weight[:fade] = fade_in
    if right_known >= 32:
        right = continue_side(x[end : end + min(right_known, longest)][::-1], fade, ar_choices,
                              margin=ar_margin)[::-1]
        continued[gap - fade :] = right * fade_in
        weight[gap - fade :] = fade_out
    return BorderContinuation(continued=continued, weight=weight)


def continue_side(past: np.ndarray, length: int, choices: tuple[tuple[int, int], ...], *,
                  margin: float = 1.0) -> np.ndarray:
    """``length`` samples continuing ``past`` forward, by the AR ``(context, order)`` that predicts best.

    Which model continues a border well depends on the material (a held piano
    chord wants a long context and a high order, speech a short one); predicting
    the last ``length`` known samples from the ones before them tells which. The
    first choice is kept unless another's error is below ``margin`` times its own
    (a backtest on 25 ms of changing material is a noisy judge).
    """

    def run(source: np.ndarray, context: int, order: int) -> np.ndarray:
        context = min(len(source), context)
        return extrapolate(source[-context:], length, order=min(order, context // 4), context=context)

    best = choices[0]
    if len(choices) > 1 and len(past) >= length + 256:
        held_out, before = past[-length:], past[:-length]
        errors = [float(np.sum((run(before, c, o) - held_out) ** 2)) for c, o in choices]
        pick = int(np.argmin(errors))
        best = choices[pick if errors[pick] < margin * errors[0] else 0]
    return run(past, *best)


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
