"""Long-gap filling with the learned model: magnitudes from the network, phase by reconstruction.

1. The model (:class:`models.inpaint.network.SpectralGapNet`) sees up to a few
   seconds of log-magnitude frames on each side and predicts the gap's frames.
   Bins above 11 kHz (at rates above 22.05 kHz) are interpolated across the gap.
2. Phase: a fast Griffin-Lim (Perraudin et al., 2013, momentum 0.99) that, on
   every iteration, puts the real samples back outside the gap. So the result is
   a waveform consistent with its own spectrogram AND continuous with the real
   signal at both borders, not a spectrogram pasted in with a guessed phase.
   It starts from each bin's phase continued through the gap from both borders
   (phase-vocoder extrapolation, :func:`propagated_phase`), and eases the gap's
   first and last milliseconds in from AR continuations of the real signal on
   every iteration, so the rest of the gap is made consistent with them.

With the clean signal's magnitudes (below 11 kHz) and no border fade this
reconstruction is close to exact (LSD 0.53 dB at 100 ms on training piano; 0.65
starting from the similarity copy's phase). The model's magnitudes miss by
~4.5 dB per frame inside the gap, which is most of the fill's error; and at the
borders they disagree with the real signal enough to leave a broadband step
unless the border fade is applied (which costs ~0.8 dB with true magnitudes at
100 ms on the tuning piano, ~1 dB before the borders' AR continuations were chosen
per side and the fade made equal-gain).
See ``training/inpaint/tune_fill.py`` (``oracle*`` variants).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from models.inpaint.blend import BorderContinuation, border_continuation
from models.inpaint.similarity import SimilarityMatch, aligned_copy
from models.inpaint.stft import MODEL_BINS, REFERENCE_N_FFT, StftGrid, istft, stft

PhaseStart = Literal["propagate", "copy"]


@dataclass(frozen=True)
class SpectralParams:
    context_s: float = 2.0
    iterations: int = 80
    momentum: float = 0.99
    seed: int = 0
    #: Griffin-Lim's starting phase in the gap: ``"propagate"`` continues each bin's phase
    #: from both borders at its measured frequency; ``"copy"`` takes the similarity copy's.
    phase_start: PhaseStart = "propagate"
    #: Border fades from the AR continuations: raised cosine (``out + in == 1``) rather than equal
    #: power. Continuation and fill agree in phase near the border (Griffin-Lim makes them
    #: consistent), so an equal-power fade overshoots by up to 3 dB mid-fade; on the tuning clips
    #: equal gain is 2-5 % better at 100 ms (music 2.328 -> 2.221 dB, speech 5.210 -> 5.175).
    equal_gain_fade: bool = True
    #: AR continuations at the borders: ``(context_ms, order_ms)`` candidates. A short, low-order
    #: model (speech, changing material) is the default; the long, high-order one (a held piano
    #: chord, whose continuation the short model lets decay by ~4 dB within 25 ms) is used on a side
    #: when it predicts that side's last fade-length of known samples with < ``border_ar_margin``
    #: times the default's error (see :func:`models.inpaint.blend.continue_side`).
    border_ar_ms: tuple[tuple[float, float], ...] = ((92.9, 5.8), (186.0, 17.4))
    border_ar_margin: float = 0.5
    #: A model trained with a Janssen input (``janssen_input``) is shown a Janssen AR fill of gaps up
    #: to this long, as in training; longer gaps would cost more Janssen time than the fill itself.
    janssen_input_max_ms: float = 160.0


def predict_log_magnitude(model: Any, log_mag: np.ndarray, frame_mask: np.ndarray,
                          copy_log_mag: np.ndarray | None = None, copy_score: float = 0.0,
                          janssen_log_mag: np.ndarray | None = None) -> np.ndarray:
    """Run the network on ``(bins, frames)`` log magnitudes (reference grid); returns the same shape.

    One thread: for a few hundred frames the work is ~20 ms, and on a busy
    machine waiting for a second thread costs more than the work itself.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            inp = torch.from_numpy(log_mag[None].astype(np.float32))
            mask = torch.from_numpy(frame_mask[None].astype(np.float32))
            extra: dict[str, torch.Tensor] = {}
            if getattr(model, "copy_input", False) and copy_log_mag is not None:
                extra["copy_log_mag"] = torch.from_numpy(copy_log_mag[None].astype(np.float32))
                extra["copy_score"] = torch.tensor([copy_score], dtype=torch.float32)
            if getattr(model, "janssen_input", False) and janssen_log_mag is not None:
                extra["janssen_log_mag"] = torch.from_numpy(janssen_log_mag[None].astype(np.float32))
                extra["janssen_given"] = torch.ones(1, dtype=torch.float32)
            out = model(inp, mask, **extra)
    finally:
        torch.set_num_threads(threads)
    return np.asarray(out[0].numpy(), dtype=np.float64)


def spectral_fill(
    x: np.ndarray,
    sr: int,
    start: int,
    end: int,
    *,
    model: Any,
    known: np.ndarray | None = None,
    match: SimilarityMatch | None = None,
    params: SpectralParams | None = None,
    fade: int = 0,
    left_known: int = 0,
    right_known: int = 0,
) -> np.ndarray:
    """Samples for ``x[start:end]`` (1-D ``x``) from the model's magnitudes and reconstructed phase.

    ``match`` (the best similarity copy) is shown to a model trained with copies (and
    starts the phase reconstruction with ``phase_start="copy"``). ``fade`` samples at
    each border are eased in from AR continuations of the real signal *inside* the
    phase reconstruction (see :func:`models.inpaint.blend.border_continuation`); ``left_known`` /
    ``right_known`` are the trusted samples next to the gap, as for
    :func:`models.inpaint.blend.blend_into_gap`.
    """
    from models.inpaint.network import LOG_FLOOR, interpolate_gaps

    p = params or SpectralParams()
    grid = StftGrid.for_rate(sr)
    known_mask = np.ones(len(x), dtype=bool) if known is None else known.copy()
    known_mask[start:end] = False
    context = int(p.context_s * sr)
    lo, hi = max(0, start - context), min(len(x), end + context)
    seg_known = known_mask[lo:hi]
    seg = np.where(seg_known, np.asarray(x[lo:hi], dtype=np.float64), 0.0)
    scale = REFERENCE_N_FFT / grid.n_fft  # magnitudes on the reference grid's level

    def log_magnitude(signal: np.ndarray) -> np.ndarray:
        return np.log(np.abs(stft(signal, grid)) * scale + LOG_FLOOR).T  # (bins, frames)

    log_mag = log_magnitude(seg)
    frame_mask = _frames_with_missing(seg_known, grid, log_mag.shape[1])
    copy_in = None
    if match is not None:
        copy_signal = aligned_copy(np.asarray(x, dtype=np.float64), lo, hi - lo, match.source_start - start, match.gain)
        copy_in = _model_bins(log_magnitude(copy_signal))
    janssen_in = None
    if getattr(model, "janssen_input", False) and 1000 * (end - start) / sr <= p.janssen_input_max_ms:
        from models.ar import janssen_interpolate

        janssen_seg = seg.copy()
        janssen_seg[start - lo : end - lo] = janssen_interpolate(x, start, end, known=known_mask)
        janssen_in = _model_bins(log_magnitude(janssen_seg))
    predicted = predict_log_magnitude(model, _model_bins(log_mag), frame_mask, copy_in,
                                      max(match.score, 0.0) if match is not None else 0.0, janssen_in)
    if log_mag.shape[0] > MODEL_BINS:
        import torch

        high = interpolate_gaps(torch.from_numpy(log_mag[None, MODEL_BINS:]),
                                torch.from_numpy(frame_mask[None].astype(np.float64)))[0].numpy()
        full = np.concatenate([predicted, high], axis=0)
    else:
        full = predicted[: log_mag.shape[0]]
    magnitude = np.maximum(np.exp(full) - LOG_FLOOR, 0.0).T / scale  # (frames, bins)
    start_value = None if match is None else np.asarray(match.samples, dtype=np.float64)
    # The border fade is applied inside every Griffin-Lim iteration rather than once afterwards, so the
    # reconstruction makes the rest of the gap consistent with the faded borders: on training clips
    # that lowered the LSD by ~1 % at 100-400 ms (a fade applied afterwards breaks the consistency
    # Griffin-Lim just reached; no fade at all leaves a broadband step at each border, +40 % LSD).
    border = border_continuation(x, start, end, fade=fade, left_known=left_known, right_known=right_known,
                                 equal_gain=p.equal_gain_fade,
                                 ar_choices=tuple((round(c * 1e-3 * sr), round(o * 1e-3 * sr))
                                                  for c, o in p.border_ar_ms),
                                 ar_margin=p.border_ar_margin)
    filled = _reconstruct_phase(seg, seg_known, magnitude, frame_mask, grid, start - lo, end - lo,
                                init=start_value, params=p, border=border)
    return filled[start - lo : end - lo]


def _model_bins(log_mag: np.ndarray) -> np.ndarray:
    """The model's 513 bins (0-11 kHz at ~21.5 Hz); rates under 22.05 kHz are padded with the floor."""
    from models.inpaint.network import LOG_FLOOR

    out = np.full((MODEL_BINS, log_mag.shape[1]), np.log(LOG_FLOOR))
    shared = min(MODEL_BINS, log_mag.shape[0])
    out[:shared] = log_mag[:shared]
    return out


def _frames_with_missing(known: np.ndarray, grid: StftGrid, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    missing = np.flatnonzero(~known)
    if missing.size == 0:
        return mask
    breaks = np.flatnonzero(np.diff(missing) > 1)
    starts = np.concatenate([[missing[0]], missing[breaks + 1]])
    ends = np.concatenate([missing[breaks], [missing[-1]]]) + 1
    for s, e in zip(starts, ends, strict=True):
        f0, f1 = grid.frames_touching(int(s), int(e))
        mask[f0 : min(f1, n_frames)] = True
    return mask


def _reconstruct_phase(seg: np.ndarray, seg_known: np.ndarray, magnitude: np.ndarray, frame_mask: np.ndarray,
                       grid: StftGrid, g0: int, g1: int, *, init: np.ndarray | None,
                       params: SpectralParams, border: BorderContinuation | None = None) -> np.ndarray:
    """Fast Griffin-Lim on a window around the gap, with the real samples re-imposed each iteration
    (and the gap's borders eased in from ``border``)."""
    pad = 2 * grid.n_fft
    w0, w1 = max(0, g0 - pad), min(len(seg), g1 + pad)
    # Align the local window to the frame grid so its frames are the global frames shifted.
    w0 -= w0 % grid.hop
    local = seg[w0:w1].copy()
    local_known = seg_known[w0:w1]
    f_off = w0 // grid.hop
    n_frames = grid.frames_for(len(local))
    target = np.zeros((n_frames, magnitude.shape[1]))
    rows = np.arange(n_frames) + f_off
    valid = rows < magnitude.shape[0]
    target[valid] = magnitude[rows[valid]]
    local_mask = np.zeros(n_frames, dtype=bool)
    local_mask[valid] = frame_mask[rows[valid]]
    rng = np.random.default_rng(params.seed)
    missing = ~local_known
    local[missing] = 1e-4 * rng.standard_normal(int(missing.sum()))
    if init is not None and params.phase_start == "copy":
        local[g0 - w0 : g1 - w0] = init
    current = stft(local, grid)
    if params.phase_start == "propagate":
        f0, f1 = grid.frames_touching(g0 - w0, g1 - w0)
        f1 = min(f1, n_frames)
        started = propagated_phase(current, local_mask, f0, f1, hop=grid.hop, n_fft=grid.n_fft)
        if started is not None:
            spec = current.copy()
            spec[f0:f1] = target[f0:f1] * started
            local = istft(spec, grid, len(local))
            local[local_known] = seg[w0:w1][local_known]
            current = stft(local, grid)
    previous = current.copy()
    signal = local
    for _ in range(params.iterations):
        projected = current.copy()
        phase = current[local_mask] / np.maximum(np.abs(current[local_mask]), 1e-12)
        projected[local_mask] = target[local_mask] * phase
        signal = istft(projected, grid, len(local))
        signal[local_known] = seg[w0:w1][local_known]
        if border is not None:
            signal[g0 - w0 : g1 - w0] = border.apply(signal[g0 - w0 : g1 - w0])
        fresh = stft(signal, grid)
        current = fresh + params.momentum * (fresh - previous)
        previous = fresh
    out = seg.copy()
    out[w0:w1] = signal
    return out


@dataclass(frozen=True)
class _Continuation:
    """One border's phase continued through the gap.

    ``phasors``: ``(frames, bins)`` unit phasors; ``anchor_magnitude``: ``(bins,)``, the known frame's.
    """

    phasors: np.ndarray
    anchor_magnitude: np.ndarray


def propagated_phase(spec: np.ndarray, missing_frames: np.ndarray, f0: int, f1: int, *, hop: int,
                     n_fft: int) -> np.ndarray | None:
    """Unit phasors ``(f1 - f0, bins)`` for frames ``[f0, f1)``, continued from the known frames around them.

    Phase-vocoder extrapolation: each bin's frequency (phase advance per hop) is
    measured from the last two known frames on the left and continued forward,
    and likewise backward from the first two known frames on the right. In a
    bin near a partial that frequency is the partial's (the window's main lobe
    spans 4 bins), so the bins of one partial stay locked together, and a
    stationary partial (a held piano note) continues without a phase break.
    The two continuations are mixed per frame by distance, each weighted by its
    anchor frame's magnitude, so a partial present on one side only keeps that
    side's phase. ``None`` when neither side has two known frames.
    """
    n_frames, bins = spec.shape
    expected = 2 * np.pi * hop * np.arange(bins) / n_fft
    frames = np.arange(f0, f1)

    def side(anchor: int, neighbour: int) -> _Continuation | None:
        if not (0 <= anchor < n_frames and 0 <= neighbour < n_frames):
            return None
        if missing_frames[anchor] or missing_frames[neighbour]:
            return None
        step = anchor - neighbour  # +1 going forward from the left, -1 backward from the right
        advance = np.angle(spec[anchor]) - np.angle(spec[neighbour]) - step * expected
        advance = step * expected + np.angle(np.exp(1j * advance))
        phase = np.angle(spec[anchor])[None, :] + advance[None, :] * ((frames - anchor) * step)[:, None]
        return _Continuation(phasors=np.exp(1j * phase), anchor_magnitude=np.abs(spec[anchor]))

    left = side(f0 - 1, f0 - 2)
    right = side(f1, f1 + 1)
    if left is None and right is None:
        return None
    if left is None or right is None:
        only = left if right is None else right
        assert only is not None
        return only.phasors
    weight = ((f1 - frames) / (f1 - f0 + 1))[:, None]
    mixed = (weight * left.anchor_magnitude[None, :] * left.phasors
             + (1 - weight) * right.anchor_magnitude[None, :] * right.phasors)
    return np.asarray(mixed / np.maximum(np.abs(mixed), 1e-12))
