"""The inpaint benchmark: every method on the same held-out gaps, plus detection and speed.

Material never trained on: music rendered with the validation soundfont
(TimGM6mb) from held-out corpus pieces and seeds at 44.1 kHz, and held-out
speech (other espeak-ng voices, held-out asterisk prompts) at 16 kHz. For each
gap length, the same gap positions are filled by zero fill, Janssen AR,
similarity copy and reamend's automatic choice (Janssen up to 60 ms, the
learned model beyond), and scored by SNR in the gap, LSD around it and, where
installed, ViSQOL (music) or PESQ (speech) on 2 s around the gap.

Means over a handful of gaps differ by a few hundredths of a MOS from one set
of gap positions to the next, so from 100 ms on the benchmark also compares
reamend with the best other method gap by gap (the same gaps): the mean paired
difference with a bootstrap 95 % interval says whether a lead is real or noise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.audio_io import resample
from models.inpaint.detect import DetectParams, detect_dropouts
from models.inpaint.fill import FillParams, inpaint
from models.inpaint.gaps import Gap
from models.inpaint.metrics import lsd_db, snr_db
from models.inpaint.simulate import DetectionScore, place_gaps, score_detection, simulate_dropouts
from models.progress import ProgressFn, no_progress
from models.stats import BOOTSTRAP_RESAMPLES, bootstrap_mean_interval

log = logging.getLogger(__name__)

GAP_LENGTHS_MS = (10, 25, 50, 100, 200, 400, 800)
METHODS = ("zeros", "janssen", "similarity", "reamend")
#: Gap lengths from which reamend's own method (not Janssen) fills and is compared gap by gap.
PAIRED_FROM_MS = 100


@dataclass(frozen=True)
class BenchConfig:
    lengths_ms: tuple[int, ...] = GAP_LENGTHS_MS
    music_clips: int = 4
    speech_clips: int = 3
    gaps_per_clip: int = 2
    perceptual: bool = True
    detection_clips: int = 6
    dropouts_per_clip: int = 10
    seed: int = 1234
    music_sr: int = 44100
    speech_sr: int = 16000


@dataclass(frozen=True)
class MethodScore:
    material: str
    length_ms: int
    method: str
    count: int
    snr_db: float
    lsd_db: float
    perceptual: float | None
    perceptual_name: str | None
    seconds_per_gap: float


@dataclass(frozen=True)
class PairedComparison:
    """reamend against the other method with the best mean on one measure, over the same gaps.

    ``difference`` is reamend minus that method, signed so that positive favours reamend
    (for LSD, where lower is better, it is the method's LSD minus reamend's); ``low`` and
    ``high`` bound its bootstrap 95 % interval.
    """

    material: str
    length_ms: int
    measure: str
    rival: str
    count: int
    difference: float
    low: float
    high: float


@dataclass(frozen=True)
class DetectionRow:
    material: str
    kind: str
    preset: str
    score: DetectionScore


@dataclass(frozen=True)
class SpeedResult:
    channels: int
    sr: int
    gap_s: float
    clip_s: float
    seconds: float
    method: str


@dataclass(frozen=True)
class BenchResult:
    methods: tuple[MethodScore, ...]
    detection: tuple[DetectionRow, ...]
    speed: tuple[SpeedResult, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    paired: tuple[PairedComparison, ...] = field(default_factory=tuple)


def run_bench(config: BenchConfig, *, model: Any, progress: ProgressFn | None = None) -> BenchResult:
    from models.inpaint.dataset import music_clips, speech_clips

    sink = progress or no_progress
    notes: list[str] = []
    music = [c.samples.astype(np.float64) for c in
             music_clips("validation", count=config.music_clips, sr=config.music_sr)]
    speech = [resample(c.samples, 22050, config.speech_sr).astype(np.float64) for c in
              speech_clips("validation", count=config.speech_clips)]
    scorers = _perceptual_scorers(config, notes)
    rows: list[MethodScore] = []
    paired: list[PairedComparison] = []
    for m_index, (material, clips, sr) in enumerate((("music", music, config.music_sr),
                                                      ("speech", speech, config.speech_sr))):
        for l_index, length_ms in enumerate(config.lengths_ms):
            sink((m_index * len(config.lengths_ms) + l_index) / (2 * len(config.lengths_ms) + 1),
                 f"{material} {length_ms} ms")
            scores, comparisons = _score_length(material, clips, sr, length_ms, config, model,
                                                scorers.get(material))
            rows += scores
            paired += comparisons
    sink(0.93, "detection")
    detection = [
        *_detection_rows("music", music, config.music_sr, config),
        *_detection_rows("speech", speech, config.speech_sr, config),
    ]
    sink(0.97, "speed")
    speed = _speed(music[0], config.music_sr, model)
    return BenchResult(methods=tuple(rows), detection=tuple(detection), speed=tuple(speed), notes=tuple(notes),
                       paired=tuple(paired))


def _score_length(material: str, clips: Sequence[np.ndarray], sr: int, length_ms: int, config: BenchConfig,
                  model: Any, scorer: tuple[str, Callable[[np.ndarray, np.ndarray, int], float]] | None,
                  ) -> tuple[list[MethodScore], list[PairedComparison]]:
    rng = np.random.default_rng([config.seed, length_ms, len(material)])
    results: dict[str, list[tuple[float, float, float | None, float]]] = {m: [] for m in METHODS}
    for clip in clips:
        for start, end in place_gaps(clip, sr, [length_ms] * config.gaps_per_clip, rng=rng,
                                     min_separation_s=2.5, edge_s=2.5):
            damaged = clip.copy()
            damaged[start:end] = 0.0
            gap = Gap(start=start, end=end)
            for method in METHODS:
                params = FillParams(method="auto" if method == "reamend" else method)  # type: ignore[arg-type]
                began = time.perf_counter()
                filled = inpaint(damaged, sr, [gap], params=params, model=model if method == "reamend" else None)
                elapsed = time.perf_counter() - began
                estimate = filled.samples[:, 0]
                perceptual = None
                if scorer is not None:
                    lo, hi = max(0, start - sr), min(len(clip), end + sr)
                    perceptual = scorer[1](clip[lo:hi], estimate[lo:hi], sr)
                results[method].append((snr_db(clip[start:end], estimate[start:end]),
                                        lsd_db(clip, estimate, sr, start, end), perceptual, elapsed))
    rows = []
    for method, values in results.items():
        if not values:
            continue
        arr = np.array([(s, lsd, t) for s, lsd, _, t in values])
        perceptual_values = [p for _, _, p, _ in values if p is not None]
        rows.append(MethodScore(
            material=material, length_ms=length_ms, method=method, count=len(values),
            snr_db=float(arr[:, 0].mean()), lsd_db=float(arr[:, 1].mean()),
            perceptual=float(np.mean(perceptual_values)) if perceptual_values else None,
            perceptual_name=scorer[0] if scorer is not None else None, seconds_per_gap=float(arr[:, 2].mean())))
    comparisons: list[PairedComparison] = []
    if length_ms >= PAIRED_FROM_MS and results["reamend"]:
        seed = [config.seed, length_ms, len(material), 1]
        comparisons.append(paired_comparison(
            material, length_ms, "LSD dB", {m: [-v[1] for v in results[m]] for m in METHODS}, seed=seed))
        if scorer is not None:
            comparisons.append(paired_comparison(
                material, length_ms, scorer[0], {m: [float(v[2]) for v in results[m] if v[2] is not None]
                                                 for m in METHODS}, seed=seed))
    return rows, comparisons


def paired_comparison(material: str, length_ms: int, measure: str, values: dict[str, list[float]], *,
                      seed: Sequence[int]) -> PairedComparison:
    """reamend against the best other method by mean of ``values`` (higher is better for every
    method's list, so LSD comes negated): mean paired difference and its percentile-bootstrap
    95 % interval (resampling gaps, the unit that varies)."""
    ours = np.asarray(values["reamend"], dtype=np.float64)
    rivals = {m: np.asarray(v, dtype=np.float64) for m, v in values.items() if m != "reamend" and v}
    rival = max(rivals, key=lambda m: float(rivals[m].mean()))
    differences = ours - rivals[rival]
    low, high = bootstrap_mean_interval(differences, rng=np.random.default_rng(list(seed)),
                                        resamples=BOOTSTRAP_RESAMPLES)
    return PairedComparison(material=material, length_ms=length_ms, measure=measure, rival=rival,
                            count=len(differences), difference=float(differences.mean()), low=low, high=high)


def _perceptual_scorers(config: BenchConfig, notes: list[str],
                        ) -> dict[str, tuple[str, Callable[[np.ndarray, np.ndarray, int], float]]]:
    """ViSQOL (audio mode, 48 kHz) for music and PESQ (wide band, 16 kHz) for speech, when installed."""
    scorers: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray, int], float]]] = {}
    if not config.perceptual:
        return scorers
    try:
        from visqol import VisqolApi

        api = VisqolApi()
        api.create(mode="audio")

        def visqol_score(reference: np.ndarray, estimate: np.ndarray, sr: int) -> float:
            ref48 = resample(reference, sr, 48000).astype(np.float64)
            est48 = resample(estimate, sr, 48000).astype(np.float64)
            return float(api.measure_from_arrays(ref48, est48, 48000).moslqo)

        scorers["music"] = ("ViSQOL MOS", visqol_score)
    except ImportError:
        notes.append("ViSQOL not installed (pip install visqol-python): no perceptual score for music")
    try:
        from pesq import pesq

        def pesq_score(reference: np.ndarray, estimate: np.ndarray, sr: int) -> float:
            return float(pesq(sr, reference.astype(np.float64), estimate.astype(np.float64), "wb"))

        scorers["speech"] = ("PESQ-WB", pesq_score)
    except ImportError:
        notes.append("pesq not installed (pip install pesq): no perceptual score for speech")
    return scorers


#: Detector settings per simulated kind, as the presets set them: ``dropouts-digital`` looks
#: for digital dropouts only, ``vhs-piano`` for tape and digital dropouts.
DETECTORS = {
    "digital": ("dropouts-digital", DetectParams(detect_tape=False)),
    "tape": ("vhs-piano", DetectParams()),
}


def _detection_rows(material: str, clips: Sequence[np.ndarray], sr: int, config: BenchConfig) -> list[DetectionRow]:
    rows = []
    for kind, kinds in (("digital", ("digital_zeros", "held_value")), ("tape", ("tape",))):
        preset, params = DETECTORS[kind]
        tp = fp = fn = 0
        for index in range(config.detection_clips):
            clip = clips[index % len(clips)]
            rng = np.random.default_rng([config.seed, index, len(kind), len(material)])
            damage = simulate_dropouts(clip, sr, rng=rng, count=config.dropouts_per_clip, kinds=kinds)  # type: ignore[arg-type]
            score = score_detection(damage.gaps, detect_dropouts(damage.samples, sr, params=params))
            tp, fp, fn = tp + score.true_positives, fp + score.false_positives, fn + score.false_negatives
        rows.append(DetectionRow(material=material, kind=kind, preset=preset,
                                 score=DetectionScore(true_positives=tp, false_positives=fp, false_negatives=fn)))
    return rows


def _speed(clip: np.ndarray, sr: int, model: Any) -> list[SpeedResult]:
    """A 0.5 s gap in a 10 s clip, mono and stereo, through the same call the job makes."""
    excerpt = clip[: 10 * sr]
    start = 5 * sr
    gap = Gap(start=start, end=start + sr // 2)
    results = []
    for channels in (1, 2):
        data = np.stack([excerpt] * channels, axis=1)
        data[gap.start : gap.end] = 0.0
        began = time.perf_counter()
        filled = inpaint(data, sr, [gap], params=FillParams(), model=model)
        results.append(SpeedResult(channels=channels, sr=sr, gap_s=0.5, clip_s=len(excerpt) / sr,
                                   seconds=time.perf_counter() - began, method=filled.fills[0].method))
    return results


def markdown_tables(result: BenchResult) -> str:
    """The benchmark as Markdown (what docs/inpaint.md shows)."""
    lines = []
    for material in ("music", "speech"):
        rows = [r for r in result.methods if r.material == material]
        if not rows:
            continue
        name = next((r.perceptual_name for r in rows if r.perceptual_name), None)
        lines.append(f"\n**{material}** (n = {rows[0].count} gaps per length; "
                     "SNR in the gap dB ↑, LSD around it dB ↓" + (f", {name} ↑" if name else "") + ", ms per gap)\n")
        header = "| gap | " + " | ".join(METHODS) + " |"
        lines += [header, "|" + "---|" * (len(METHODS) + 1)]
        for length in sorted({r.length_ms for r in rows}):
            cells = []
            for method in METHODS:
                row = next((r for r in rows if r.length_ms == length and r.method == method), None)
                if row is None:
                    cells.append("-")
                    continue
                perceptual = f" / {row.perceptual:.2f}" if row.perceptual is not None else ""
                cells.append(f"{row.snr_db:.1f} / {row.lsd_db:.2f}{perceptual} / {1000 * row.seconds_per_gap:.0f}")
            lines.append(f"| {length} ms | " + " | ".join(cells) + " |")
    if result.paired:
        lines.append("\n**reamend against the best other method, gap by gap** (mean difference over the same "
                     "gaps, positive = reamend better, bootstrap 95 % interval; a lead whose interval "
                     "includes 0 is within noise)\n")
        lines += ["| material | gap | measure | best other method | n | reamend's lead | 95 % interval |",
                  "|---|---|---|---|---|---|---|"]
        for c in result.paired:
            lines.append(f"| {c.material} | {c.length_ms} ms | {c.measure} | {c.rival} | {c.count} "
                         f"| {c.difference:+.3f} | {c.low:+.3f} to {c.high:+.3f} |")
    lines.append("\n**detection** (simulated dropouts 5 ms-1 s, event matching: ≥ 50 % of a dropout covered)\n")
    lines += ["| material | dropouts | detector (preset) | precision | recall | F1 | TP / FP / FN |",
              "|---|---|---|---|---|---|---|"]
    for detection in result.detection:
        s = detection.score
        lines.append(f"| {detection.material} | {detection.kind} | {detection.preset} | {s.precision:.3f} "
                     f"| {s.recall:.3f} | {s.f1:.3f} | {s.true_positives} / {s.false_positives} / "
                     f"{s.false_negatives} |")
    lines.append("\n**speed** (0.5 s gap in a 10 s clip, whole `inpaint()` call, model loaded)\n")
    lines += ["| channels | rate | method | seconds |", "|---|---|---|---|"]
    for speed in result.speed:
        lines.append(f"| {speed.channels} | {speed.sr} | {speed.method} | {speed.seconds:.3f} |")
    for note in result.notes:
        lines.append(f"\nNote: {note}")
    return "\n".join(lines) + "\n"
