"""Dropout detection: digital dropouts, tape dropouts and clicks, each with a confidence.

- Digital dropouts are runs of exact zeros or of one held value inside a signal
  that is clearly not silent around them (real digital silence at the file's
  head or between tracks is not a dropout).
- Tape dropouts (oxide loss, VHS head clogs) drop the level suddenly, by 10 to
  40 dB within a few milliseconds, take the treble with them, and come back
  just as suddenly to where the music was. The detector tracks a broadband and
  a treble level every millisecond and looks for exactly that shape; depth, edge
  and treble loss and how fully the level comes back make up the confidence.
  Without hiss to go by, a rest or a staccato in a clean recording drops and comes
  back too; but a note releases (slides down, or falls on into silence), while a
  tape steps down by its depth and the music goes on underneath, and comes back to
  the same notes (a note struck inside a dropout is a new onset, not its end).
  When the recording has a noise floor (tape hiss, room tone), that floor is
  recorded on the tape too and drops out with the signal: the top band falls
  *below* the recording's own floor, which no pause between words or notes
  does (a pause decays *to* the floor). So a level drop only counts as a
  dropout where the top band sinks below its floor inside it, and that
  stretch gives the dropout's extent.
- Clicks are outliers of an AR model's prediction residual.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.ndimage import maximum_filter1d
from scipy.signal import butter, lfilter, sosfilt

from models.inpaint.gaps import Gap, GapKind, merge_gaps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectParams:
    detect_digital: bool = True
    detect_tape: bool = True
    detect_clicks: bool = False
    min_digital_ms: float = 1.0
    tape_drop_db: float = 16.0
    tape_recover_db: float = 8.0
    tape_edge_ms: float = 15.0
    min_gap_ms: float = 4.0
    max_gap_ms: float = 1200.0
    margin_ms: float = 4.0
    click_threshold: float = 12.0
    silence_db: float = -60.0
    #: A run of zeros entered from below this level (the millisecond before it) is the recording's
    #: own digital silence that a note or word faded out into (a rest, a noise gate closing), not a
    #: dropout: a buffer underrun or a bad block cuts the signal off at whatever level it had.
    rest_entry_db: float = -90.0
    min_confidence: float = 0.7
    #: The top band must sink this far below the recording's noise floor ...
    hiss_drop_db: float = 4.0
    #: ... for at least this long to mark a tape dropout (on recordings with a floor);
    min_hiss_ms: float = 2.0
    #: sunken stretches closer than this are one dropout.
    bridge_ms: float = 40.0
    #: Without a noise floor to go by, a level drop must hold a step: the median level over
    #: ``tape_step_ms`` falls this far within a few milliseconds (a note's release or a staccato's decay
    #: slides down instead).
    tape_step_db: float = 12.0
    tape_step_ms: float = 8.0
    #: ... but no further than this: a tape takes 10-40 dB (and the treble); a fast release into a
    #: noise floor or digital silence falls much further.
    max_tape_step_db: float = 60.0
    #: ... and where no such step overlaps a stretch of top band sunk below the floor, the top
    #: band must step down by this much itself.
    hiss_step_db: float = 10.0


def detect_dropouts(samples: np.ndarray, sr: int, *, params: DetectParams | None = None) -> list[Gap]:
    """All dropouts in ``samples`` shaped ``(frames, channels)`` (or 1-D), above ``min_confidence``.

    Digital dropouts and clicks are found per channel (a dropout on one channel
    only is filled on that channel); tape dropouts on the mix, for all channels.
    """
    p = params or DetectParams()
    data = samples.reshape(-1, 1) if samples.ndim == 1 else samples
    found: list[Gap] = []
    for channel in range(data.shape[1]):
        x = np.asarray(data[:, channel], dtype=np.float64)
        chan = channel if data.shape[1] > 1 else None
        if p.detect_digital:
            found += detect_digital(x, sr, params=p, channel=chan)
        if p.detect_clicks:
            found += detect_clicks(x, sr, params=p, channel=chan)
    if p.detect_tape:
        found += detect_tape(data.mean(axis=1, dtype=np.float64), sr, params=p)
    kept = [g for g in found if g.confidence >= p.min_confidence]
    return merge_gaps(_shared_across_channels(kept, data.shape[1]), min_separation=int(0.002 * sr))


def _shared_across_channels(gaps: list[Gap], channels: int) -> list[Gap]:
    """A dropout found at the same place on every channel becomes one all-channel gap."""
    if channels < 2:
        return gaps
    by_span: dict[tuple[int, int], list[Gap]] = {}
    for gap in gaps:
        by_span.setdefault((gap.start, gap.end), []).append(gap)
    result = []
    for group in by_span.values():
        if len({g.channel for g in group}) == channels and None not in {g.channel for g in group}:
            best = max(group, key=lambda g: g.confidence)
            result.append(replace(best, channel=None))
        else:
            result += group
    return result


def detect_digital(x: np.ndarray, sr: int, *, params: DetectParams, channel: int | None = None) -> list[Gap]:
    """Runs of exact zeros or a held value, scored by how loud their surroundings are.

    Not dropouts: runs at the file's peak value (clipping), held values when
    they are everywhere (more than 4 per second: square waves, hard-clipped or
    8-bit material), and zeros that the signal faded into (a rest in a render, a
    gate closing between words); those keep a low confidence.
    """
    min_len = max(4, int(params.min_digital_ms * 1e-3 * sr))
    same = np.concatenate([[False], x[1:] == x[:-1]])
    runs = _runs(same, min_len - 1)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    held_runs = sum(1 for s, _ in runs if x[s] != 0)
    held_is_texture = held_runs > 4 * len(x) / sr
    gaps = []
    for start, end in runs:
        start -= 1  # the run's first sample equals the previous one: it belongs to the run
        value = x[start]
        if start == 0 or end == len(x):
            continue  # digital silence or a held value at a file edge is not a dropout
        kind: GapKind = "digital_zeros" if value == 0 else "held_value"
        window = int(0.02 * sr)
        context = np.concatenate([x[max(0, start - window) : start], x[end : end + window]])
        level_db = 10 * np.log10(np.mean((context - value) ** 2) + 1e-12)
        duration_ms = 1000 * (end - start) / sr
        confidence = _ramp(level_db, params.silence_db, params.silence_db + 20)
        if duration_ms > params.max_gap_ms:
            confidence *= 0.5
        if kind == "held_value" and (held_is_texture or abs(value) >= 0.99 * peak):
            confidence *= 0.3
        if kind == "digital_zeros" and _entered_from_silence(x, start, sr, params.rest_entry_db):
            confidence *= 0.3
        gaps.append(Gap(start=start, end=end, kind=kind, confidence=confidence, channel=channel))
    return gaps


def _entered_from_silence(x: np.ndarray, start: int, sr: int, level_db: float) -> bool:
    """Whether the millisecond before ``start`` lies under ``level_db`` (dBFS RMS)."""
    before = x[max(0, start - max(1, sr // 1000)) : start]
    return bool(10 * np.log10(np.mean(before**2) + 1e-30) < level_db)


#: Analysis frames per FFT block: bounds the spectra held at once (tens of MB for 5 ms windows).
_BLOCK_FRAMES = 1 << 14


@dataclass(frozen=True)
class _Levels:
    hop: int
    broadband_db: np.ndarray
    treble_db: np.ndarray
    #: Frames whose hop holds nothing but exact zeros (digital silence).
    silent: np.ndarray


def _windowed_power(x: np.ndarray, n_fft: int, hop: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Power spectra of Hann windows centred every ``hop`` samples (``len(x) // hop + 1`` frames).

    Yielded in blocks of ``_BLOCK_FRAMES`` frames with the frames they cover, so
    callers keep only their reductions: one 5 ms window per millisecond is over
    1 GB of spectra for ten minutes at 44.1 kHz when held at once.
    """
    padded = np.pad(x, (n_fft // 2, n_fft))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][: len(x) // hop + 1]
    window = np.hanning(n_fft)
    for first in range(0, len(frames), _BLOCK_FRAMES):
        block = frames[first : first + _BLOCK_FRAMES]
        yield slice(first, first + len(block)), np.abs(np.fft.rfft(block * window, axis=1)) ** 2


def _levels(x: np.ndarray, sr: int, window_s: float) -> _Levels:
    """Broadband and treble (2-8 kHz) level per 1 ms hop."""
    hop = max(1, int(0.001 * sr))
    n_fft = 1 << int(np.ceil(np.log2(window_s * sr)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    treble_bins = (freqs >= 2000) & (freqs <= 8000)
    norm = np.sum(np.hanning(n_fft) ** 2) * n_fft / 2
    n_frames = len(x) // hop + 1
    broadband = np.empty(n_frames)
    treble = np.empty(n_frames)
    for frames, power in _windowed_power(x, n_fft, hop):
        broadband[frames] = power.sum(axis=1) / norm
        treble[frames] = power[:, treble_bins].sum(axis=1) / norm
    silent = np.zeros(n_frames, dtype=bool)
    whole = len(x) // hop
    silent[:whole] = ~np.any(x[: whole * hop].reshape(whole, hop), axis=1)
    return _Levels(hop=hop, broadband_db=10 * np.log10(broadband + 1e-12),
                   treble_db=10 * np.log10(treble + 1e-12), silent=silent)


def detect_tape(x: np.ndarray, sr: int, *, params: DetectParams) -> list[Gap]:
    """Sudden level-and-treble drops that recover within ``max_gap_ms``.

    Two passes: ~5 ms analysis windows for most dropouts, and ~2 ms windows for
    dropouts under 15 ms, which the longer window smears out. Short windows
    also see a low note's waveform ripple, so that pass demands an 8 dB deeper drop.
    Where the top band has a noise floor (hiss, room tone) that the dropouts on
    the recording take along, those drops only mark *where* to look; the dropout
    is the stretch where the top band sinks below that floor. Where it has none,
    a drop counts only if it steps down as a tape does (``_steps_like_tape``).
    """
    found = _tape_pass(x, sr, params=params, window_s=0.005, max_gap_ms=params.max_gap_ms, extra_drop_db=0.0)
    found += _tape_pass(x, sr, params=params, window_s=0.002, max_gap_ms=15.0, extra_drop_db=8.0)
    # Without the floor's evidence, a drop must step down as a tape does, not release as a note does.
    stepped = [c.gap for c in found if c.steps_like_tape]
    hiss = _hiss(x, sr, drop_db=params.hiss_drop_db)
    if hiss is None:
        return stepped
    sunken = _hiss_dropouts(hiss, found, sr, params=params)
    # Only when the dropouts on this recording do take the floor along (hiss recorded on
    # the tape, not added after it by the playback chain) is that the test to go by.
    if any(g.confidence >= params.min_confidence for g in sunken):
        return sunken
    return stepped


def _hiss_dropouts(hiss: _Hiss, candidates: list[_Candidate], sr: int, *, params: DetectParams) -> list[Gap]:
    """Dropouts on a recording with a noise floor: where the top band sinks below that floor.

    The sunken stretches give the extent (a level drop alone overshoots into a
    following pause, and a long dropout with loud words inside splits into
    pieces); a level-drop candidate overlapping the stretch gives the sudden edge
    that tells a dropout from, say, a noise gate closing. Sunken stretches less
    than ``bridge_ms`` apart are one dropout: loud treble inside a dropout can
    still reach above the floor. The caller falls back to the level drops alone
    when nothing sinks (hiss added after the tape, by the playback chain).
    Where the overlapping drops only slide down (``_steps_like_tape``), the top band
    itself must step below the floor: a clean render's "floor" (a sample's breath
    noise, the quietest treble a note reaches) fades through it when a note releases,
    while a tape takes real hiss down with it at once.
    """
    below = (hiss.top_db < hiss.floor_db - hiss.drop_db) & ~hiss.digital
    bridge = int(params.bridge_ms * 1e-3 * sr / hiss.hop)
    for start, end in _runs(~below, 1):
        if start > 0 and end < len(below) and end - start <= bridge:
            below[start:end] = True
    margin = int(params.margin_ms * 1e-3 * sr)
    min_frames = max(1, int(params.min_hiss_ms * 1e-3 * sr / hiss.hop))
    gaps = []
    for start, end in _runs(below, min_frames):
        first, last = start * hiss.hop, end * hiss.hop
        overlapping = [c for c in candidates if c.gap.start < last and c.gap.end > first]
        if not overlapping or 1000 * (last - first) / sr > params.max_gap_ms:
            continue
        if not any(c.steps_like_tape for c in overlapping) and not _top_band_steps(hiss, start, end, params=params):
            continue
        gaps.append(Gap(start=max(0, first - margin), end=last + margin, kind="tape",
                        confidence=min(1.0, 0.3 + max(c.gap.confidence for c in overlapping))))
    return gaps


def _top_band_steps(hiss: _Hiss, start: int, end: int, *, params: DetectParams) -> bool:
    """Whether the top band's median level steps down by ``hiss_step_db`` where the stretch ``[start, end)`` sinks.

    Stretches too short to hold a median of their own are not judged (True), as in ``_steps_like_tape``.
    """
    span = max(2, round(params.tape_step_ms))  # the top band's frames are 1 ms apart
    if end - start < 2 * span + _STEP_GAP_FRAMES:
        return True
    before = hiss.top_db[max(0, start - span) : start]
    after = hiss.top_db[start + _STEP_GAP_FRAMES : start + _STEP_GAP_FRAMES + span]
    if len(before) == 0 or len(after) == 0:
        return True
    return bool(np.median(before) - np.median(after) >= params.hiss_step_db)


@dataclass(frozen=True)
class _Hiss:
    """The top band's level (2 ms windows, 1 ms hop) and the recording's noise floor in it."""

    hop: int
    top_db: np.ndarray
    floor_db: float
    drop_db: float
    #: Frames in or next to runs of exactly equal samples: a digital dropout's business
    #: (and the high-pass filter's ringing into it), not evidence of a tape dropout.
    digital: np.ndarray


#: Top band for the hiss test: above every simulated and typical tape low-pass corner.
HISS_BAND_HZ = (5000.0, 12000.0)


def _hiss(x: np.ndarray, sr: int, *, drop_db: float = 4.0) -> _Hiss | None:
    """The noise floor of the top band, or ``None`` when the recording has none to judge by.

    The floor is the lowest level, at most 10 dB under the densest 3 dB of the
    lower three quarters of all levels, at which at least 3 % of the frames lie
    within 3 dB: the pauses' hiss or room tone, while music and speech (and
    dropouts, each at its own depth) spread over many levels. It only counts as
    hiss when the frames there are flat across the band (``_MAX_HISS_TILT_DB``):
    on a clean render the lowest cluster is just the quietest treble the music
    happens to reach, which says nothing about dropouts. Exact digital silence is no floor,
    and neither is one under ``_MIN_HISS_DB``.
    """
    hop = max(1, int(0.001 * sr))
    n_fft = 1 << int(np.ceil(np.log2(0.002 * sr)))
    lo_hz, hi_hz = HISS_BAND_HZ[0], min(HISS_BAND_HZ[1], 0.48 * sr)
    if hi_hz <= lo_hz or len(x) < 20 * n_fft:
        return None
    # High-pass first: a 2 ms window leaks the far louder bass into the top band's bins.
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    bins = np.flatnonzero((freqs >= lo_hz) & (freqs <= hi_hz))
    if len(bins) < 2:
        return None
    halves = (bins[: len(bins) // 2], bins[len(bins) // 2 :])
    treble = sosfilt(butter(6, 0.8 * lo_hz, btype="highpass", fs=sr, output="sos"), x).astype(np.float32)
    n_frames = len(x) // hop + 1
    power = np.empty(n_frames)
    half_power = np.empty((n_frames, 2))
    for frames, spectrum in _windowed_power(treble, n_fft, hop):
        power[frames] = spectrum[:, bins].sum(axis=1)
        for column, half in enumerate(halves):
            half_power[frames, column] = spectrum[:, half].mean(axis=1)
    top_db = 10 * np.log10(power / n_fft + 1e-20)
    levels = np.sort(top_db[top_db > _DIGITAL_SILENCE_DB])
    if len(levels) < 100:
        return None
    within = np.searchsorted(levels, levels + 3.0) - np.arange(len(levels))
    # The densest 3 dB among the lower three quarters of all levels; dropouts over a pause make
    # small clusters far below it, which must not become the floor.
    lower = np.flatnonzero(levels <= np.percentile(levels, 75))
    mode = int(lower[np.argmax(within[lower])])
    dense = np.flatnonzero((within >= max(2, int(0.03 * len(levels)))) & (levels >= levels[mode] - 10.0))
    floor_db = float(levels[dense[0]])
    at_floor = (top_db >= floor_db) & (top_db <= floor_db + 3.0)
    tilt_db = _band_tilt_db(half_power[at_floor])
    log.debug("top-band floor %.1f dB, tilt across the band %.1f dB", floor_db, tilt_db)
    if tilt_db > _MAX_HISS_TILT_DB or floor_db < _MIN_HISS_DB:
        return None
    held = np.zeros(len(top_db), dtype=bool)
    for start, end in _runs(np.concatenate([[False], x[1:] == x[:-1]]), hop):
        held[max(0, start // hop - 2) : end // hop + int(0.01 * sr / hop)] = True
    return _Hiss(hop=hop, top_db=top_db, floor_db=floor_db, drop_db=drop_db, digital=held)


#: Hiss is nearly flat across the top band; the quietest treble of a clean render falls steeply.
_MAX_HISS_TILT_DB = 6.0

#: A floor under this (top-band power, dB re full scale) is rounding or dither noise, or a clean
#: render's fading tails, not hiss recorded on a tape (tape hiss lies tens of dB higher).
_MIN_HISS_DB = -95.0


def _band_tilt_db(half_power: np.ndarray) -> float:
    """Median level difference (dB) between the lower and the upper half of the band, ``(frames, 2)`` power."""
    if half_power.shape[0] == 0:
        return float("inf")
    return float(np.median(10 * np.log10((half_power[:, 0] + 1e-30) / (half_power[:, 1] + 1e-30))))


#: A "floor" this low is exact digital silence, not hiss.
_DIGITAL_SILENCE_DB = -150.0


@dataclass(frozen=True)
class _Candidate:
    """A level drop scored as a tape dropout, and whether its edge is a tape's step (not a release)."""

    gap: Gap
    steps_like_tape: bool


def _tape_pass(x: np.ndarray, sr: int, *, params: DetectParams, window_s: float, max_gap_ms: float,
               extra_drop_db: float) -> list[_Candidate]:
    lv = _levels(x, sr, window_s)
    level = lv.broadband_db
    n = len(level)
    edge = max(2, round(params.tape_edge_ms * 1e-3 * sr / lv.hop))
    before = _max_before(level, edge)
    drop_db = params.tape_drop_db + extra_drop_db
    max_frames = int(max_gap_ms * 1e-3 * sr / lv.hop)
    step = max(2, round(params.tape_step_ms * 1e-3 * sr / lv.hop))
    # medians[k]: median level of frames [k, k + step); a tape's edges step by its depth.
    medians = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(level, (0, step - 1), mode="edge"), step),
                        axis=1)
    rise = np.full(n, -np.inf)
    rise[step + _STEP_GAP_FRAMES :] = medians[step + _STEP_GAP_FRAMES :] - medians[: n - step - _STEP_GAP_FRAMES]
    tilt = lv.treble_db - level
    found: list[_Candidate] = []
    t = edge
    while t < n - 1:
        reference = before[t]
        if reference < params.silence_db or reference - level[t] < drop_db:
            t += 1
            continue
        start = t
        while start > 0 and level[start - 1] < reference - 3.0:
            start -= 1
        limit = min(n, t + max_frames)
        pre_tilt = float(np.median(tilt[max(0, start - 3 * edge) : max(1, start - 1)]))
        # Back means level AND treble back: a note struck inside a dropout raises the level,
        # but the low-passed signal keeps its dull tilt until the tape recovers. Where the music
        # grew quieter meanwhile, the level comes back below the reference, but it comes back
        # as the tape fell: a step up by the depth it fell (within ``tape_recover_db``).
        fell = reference - float(np.min(medians[t : t + 2 * step]))
        steps_up = rise[t:limit] >= max(drop_db, fell - params.tape_recover_db)
        back = (tilt[t:limit] >= pre_tilt - params.tape_recover_db) & (
            (level[t:limit] >= reference - params.tape_recover_db) | steps_up)
        if not np.any(back):
            # No recovery in reach: a fade or the music's end. Look on from the next frame (a
            # dropout may still come inside the quieter passage), not from the end of reach.
            t += 1
            continue
        # Where the level comes back, or steps up again while back (a recovery after a note
        # struck inside the dropout): the first frame of each such stretch.
        returning = back & (np.concatenate([[True], ~back[:-1]]) | steps_up)
        stop = _recovery(x, sr, t + np.flatnonzero(returning & ~np.concatenate([[False], returning[:-1]])),
                         hop=lv.hop)
        gap = _score_tape(lv, start, stop, reference, edge, sr, params, drop_db)
        if gap is not None:
            found.append(_Candidate(gap, _steps_like_tape(medians, lv.silent, start, stop, span=step, params=params)))
        t = stop + 1
    return found


def _recovery(x: np.ndarray, sr: int, returns: np.ndarray, *, hop: int) -> int:
    """Which of the frames where level and treble come back (``returns``, in order) is the tape's recovery.

    A tape comes back to the music it took down: the low band (which its low-pass keeps)
    has the same shape just before and just after, only louder. A note struck inside a
    long dropout also brings level, and treble enough, back, but as a new onset: another
    spectrum. The first return without one is the recovery; if every one is an onset
    (a dropout may end on a note), the first.
    """
    for frame in returns[:_MAX_RETURNS]:
        if _low_band_distance_db(x, sr, int(frame) * hop) <= _ONSET_DISTANCE_DB:
            return int(frame)
    return int(returns[0])


#: Returns judged per drop (each costs two short FFTs).
_MAX_RETURNS = 4

#: Low-band shape difference (RMS dB) above which a return is a new onset: true recoveries on the
#: training clips lie at 0.8-9.8 dB (5th-95th percentile), onsets inside dropouts mostly above 10.
_ONSET_DISTANCE_DB = 11.0


def _low_band_distance_db(x: np.ndarray, sr: int, at: int) -> float:
    """RMS difference (dB) between the 60-1000 Hz spectral shapes of the 12 ms before ``at`` and after it.

    Each spectrum is taken relative to its own peak and floored 30 dB under it, so the
    tape's depth (a level) does not count, only the shape (which notes sound).
    """
    ms = max(1, sr // 1000)
    before, after = x[max(0, at - 14 * ms) : at - 2 * ms], x[at + 3 * ms : at + 15 * ms]
    if len(before) < 8 * ms or len(after) < 8 * ms:
        return 0.0
    n_fft = 1 << int(np.ceil(np.log2(0.02 * sr)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (freqs >= 60.0) & (freqs <= 1000.0)
    shapes = []
    for segment in (before, after):
        power = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), n_fft))[band] ** 2
        level = 10 * np.log10(power + 1e-20)
        shapes.append(level - level.max())
    audible = (shapes[0] > -30.0) | (shapes[1] > -30.0)
    difference = np.clip(shapes[0][audible], -30.0, 0.0) - np.clip(shapes[1][audible], -30.0, 0.0)
    return float(np.sqrt(np.mean(difference**2)))


def _max_before(values: np.ndarray, width: int) -> np.ndarray:
    """``out[t] = max(values[t - width : t])`` (``-inf`` where there is no history)."""
    peaks = maximum_filter1d(values, width, origin=(width - 1) // 2)
    return np.concatenate([np.full(width, -np.inf), peaks[:-width]])


def _score_tape(lv: _Levels, start: int, stop: int, reference: float, edge: int, sr: int,
                params: DetectParams, drop_db: float) -> Gap | None:
    level, treble = lv.broadband_db, lv.treble_db
    inside = slice(start, max(stop, start + 1))
    depth = reference - float(np.median(level[inside]))
    pre = slice(max(0, start - 3 * edge), max(1, start - 1))
    post = slice(stop + 1, min(len(level), stop + 1 + 3 * edge))
    if post.start >= post.stop:
        return None
    after = float(np.median(level[post]))
    treble_loss = float(np.max(treble[pre]) - np.median(treble[inside])) - depth
    deepest = reference - float(np.min(level[inside]))
    if deepest < drop_db:
        return None
    # Passing the trigger makes it a candidate (0.4); depth, treble loss and a full recovery make it sure.
    confidence = (
        0.4
        + 0.3 * _ramp(deepest, drop_db, drop_db + 10)
        + 0.15 * _ramp(treble_loss, -4.0, 2.0)
        + 0.15 * _ramp(after, reference - 12.0, reference - 4.0)
    )
    margin = int(params.margin_ms * 1e-3 * sr)
    duration_ms = 1000 * (stop - start) * lv.hop / sr
    if duration_ms < params.min_gap_ms:
        return None
    first = max(0, start * lv.hop - margin)
    last = stop * lv.hop + margin
    return Gap(start=first, end=last, kind="tape", confidence=float(confidence))


def _steps_like_tape(medians: np.ndarray, silent: np.ndarray, start: int, stop: int, *, span: int,
                     params: DetectParams) -> bool:
    """Whether the level drop ``[start, stop)`` holds a tape dropout's edge rather than a note's release.

    A tape takes everything recorded down by its depth within a few milliseconds and the
    music goes on underneath: the median level over ``span`` frames before a point and over
    ``span`` frames just after it differ by the whole depth, and the level then holds. A rest
    or a staccato in a clean recording lets the note release instead: a decay over tens of
    milliseconds, whose medians differ little, or a synthesizer's faster release, which
    keeps falling at the same rate (by half the step or more over the next ``span``), falls
    further than a tape drops (``max_tape_step_db``), and ends in a dither floor (reached
    while already falling) or in exact digital silence, which no tape leaves (``silent``
    marks those frames). Drops
    under ``2 * span`` and the ramp are not judged (True): a dropout of a few milliseconds
    holds no median of its own, and releases last longer. ``medians[k]`` is the median
    level of frames ``[k, k + span)``.
    """
    gap = _STEP_GAP_FRAMES
    if stop - start < 2 * span + gap:
        return True
    points = np.arange(max(span, start - gap), stop - gap - span + 1)
    down = medians[points - span] - medians[points + gap]
    # The median after that must lie inside the drop (a next note's attack must not count); near
    # the drop's end there is no room for it, and only a step clearly deeper than a release's counts.
    roomy = points + 2 * gap + 2 * span <= stop
    further = np.where(roomy, medians[points + gap] - medians[np.minimum(points + 2 * gap + span, stop)],
                       np.where(down >= _NO_ROOM_STEP * params.tape_step_db, 0.0, np.inf))
    # And the level held before the step: a fast release's last stretch into a noise floor also
    # steps down and then holds, but it was falling by a step's worth already.
    earlier = medians[np.maximum(points - 2 * span - gap, 0)] - medians[points - span]
    points = points[(down >= params.tape_step_db) & (down <= params.max_tape_step_db)
                    & (further < params.tape_step_db / 2) & (earlier < params.tape_step_db)]
    if len(points) == 0:
        return False
    digital = np.concatenate([[0], np.cumsum(silent)])
    landing = np.minimum(points + gap + 3 * span, len(silent))
    return bool(np.any(digital[landing] == digital[points]))


#: Near a drop's end, where the level's course after a step cannot be seen, the step must be this
#: many times ``tape_step_db``: a release's staircase reaches the bare threshold there.
_NO_ROOM_STEP = 1.33

#: Frames between the median before a step and the median after it: the tape's ramp seen through the window.
_STEP_GAP_FRAMES = 3


def detect_clicks(x: np.ndarray, sr: int, *, params: DetectParams, channel: int | None = None) -> list[Gap]:
    """Outliers of a block-wise order-32 AR prediction residual (robust scale: median absolute value)."""
    order, block = 32, 4096
    outlier = np.zeros(len(x), dtype=bool)
    for lo in range(0, len(x), block):
        seg = x[max(0, lo - order) : lo + block]
        if len(seg) <= 2 * order or not np.any(seg):
            continue
        r = np.correlate(seg, seg, mode="full")[len(seg) - 1 : len(seg) + order]
        if r[0] <= 0:
            continue
        column = r[:order].copy()
        column[0] *= 1.0 + 1e-6
        a = np.concatenate([[1.0], solve_toeplitz(column, -r[1 : order + 1])])
        residual = lfilter(a, [1.0], seg)[order:]
        scale = np.median(np.abs(residual)) / 0.6745 + 1e-12
        base = max(0, lo - order) + order
        outlier[base : base + residual.size] |= np.abs(residual) > params.click_threshold * scale
    spread = max(1, int(0.0005 * sr))
    widened = maximum_filter1d(outlier.astype(np.uint8), 2 * spread + 1) > 0
    gaps = []
    for start, end in _runs(widened, 1):
        if 1000 * (end - start) / sr > 5.0:
            continue  # long runs of outliers are onsets or noise bursts, not clicks
        gaps.append(Gap(start=start, end=end, kind="click", confidence=0.8, channel=channel))
    return gaps


def _runs(mask: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """``[start, end)`` of every True run at least ``min_len`` long."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    changes = np.flatnonzero(np.diff(padded))
    starts, ends = changes[::2], changes[1::2]
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_len]


def _ramp(value: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, linear between."""
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))
