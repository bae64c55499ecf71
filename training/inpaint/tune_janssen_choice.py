"""Try "Janssen instead of the model when the context is predictable" rules offline, on TUNING clips.

The automatic choice fills music gaps up to ``janssen_max_ms`` with Janssen AR and longer
ones with the gap model. Around 100 ms neither wins everywhere: Janssen continues
stationary tonal material almost exactly (high SNR), the model guesses a smoothed
spectrum (better LSD). This script asks whether something measured on the CONTEXT ONLY
tells the two apart, gap by gap. It rebuilds the gaps ``tune_fill.py`` filled (same clips,
seed and gaps per clip), measures context features on the damaged clip, joins them with
that run's per-gap figures (``--dump`` files with the ``janssen`` and ``reamend`` variants),
and prints, per gap length, the mean LSD and perceptual score of "Janssen if FEATURE passes
T, else the model" for a range of T, with the model, Janssen and the per-gap best
(what a perfect chooser would reach) beside them.

Features (one value per gap; larger = more predictable, so Janssen when it is >= T):

- ``ar_gap``: the worse side's SNR (dB) of a one-sided AR extrapolation (Janssen's order for
  this gap length) of the gap-length stretch of known samples next to the gap, predicted
  from the samples before it;
- ``ar_gap_mean``: the mean of the two sides' SNRs;
- ``ar_short``: the worse side's SNR of the same for the 25 ms next to the gap;
- ``janssen_bt`` / ``janssen_bt_mean``: the worse side's / the mean SNR (dB) of Janssen filling a
  pseudo-gap of the same length in the known samples beside the gap, 40 ms away from it
  (what Janssen would reach on this material; costs two Janssen fills);
- ``stationary``: minus the log-spectral distance (dB) between 93 ms just left and just
  right of the gap (the same notes sounding on both sides: nothing new starts in the gap).

Run: python training/inpaint/tune_janssen_choice.py SEED:GAPS:DUMP.json[,DUMP.json] [...] [--material speech]
         [--thresholds 'janssen_bt_mean=10,12;stationary=-5'] [--pool janssen_bt_mean=12]
(one SEED:GAPS:DUMPS per gap set, as given to ``tune_fill.py --seed --gaps --dump``). Features are
cached beside each set's first dump (``*.features.json``). ``--pool`` adds one rule's mean change
over every set's gaps up to ``--pool-max-ms`` with a paired bootstrap 95 % interval.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.ar import JanssenParams, extrapolate, janssen_interpolate
from models.audio_io import resample
from models.inpaint.dataset import tuning_music_clips, tuning_speech_clips
from models.inpaint.simulate import place_gaps
from models.stats import bootstrap_mean_interval

FEATURES = ("ar_gap", "ar_gap_mean", "ar_short", "stationary", "janssen_bt", "janssen_bt_mean")


def context_features(damaged: np.ndarray, sr: int, start: int, end: int) -> dict[str, float]:
    """The features above for the gap ``[start, end)`` of ``damaged`` (gap samples unknown)."""
    gap = end - start
    order, context = JanssenParams().sizes(gap)
    sides = (damaged[:start], damaged[end:][::-1])
    gap_snrs = [_backtest_db(past, gap, order=order, context=context) for past in sides]
    short = int(0.025 * sr)
    short_snrs = [_backtest_db(past, short, order=767 * sr // 44100, context=8203 * sr // 44100) for past in sides]
    window = int(0.093 * sr)
    left, right = damaged[start - window : start], damaged[end : end + window]
    janssen_snrs = [_janssen_backtest_db(past, gap, margin=int(0.04 * sr)) for past in sides]
    return {"ar_gap": min(gap_snrs), "ar_gap_mean": float(np.mean(gap_snrs)), "ar_short": min(short_snrs),
            "stationary": -_log_spectral_distance_db(left, right),
            "janssen_bt": min(janssen_snrs), "janssen_bt_mean": float(np.mean(janssen_snrs))}


def _janssen_backtest_db(past: np.ndarray, length: int, *, margin: int) -> float:
    """SNR (dB) of Janssen filling ``length`` known samples ending ``margin`` before the end of ``past``."""
    end = len(past) - margin
    start = end - length
    values = janssen_interpolate(past, start, end)
    held = past[start:end]
    return float(10 * np.log10((np.sum(held**2) + 1e-12) / (np.sum((values - held) ** 2) + 1e-12)))


def _backtest_db(past: np.ndarray, length: int, *, order: int, context: int) -> float:
    """SNR (dB) of predicting the last ``length`` samples of ``past`` from the ones before them."""
    held, before = past[-length:], past[:-length][-context:]
    predicted = extrapolate(before, length, order=min(order, len(before) // 2), context=len(before))
    return float(10 * np.log10((np.sum(held**2) + 1e-12) / (np.sum((predicted - held) ** 2) + 1e-12)))


def _log_spectral_distance_db(a: np.ndarray, b: np.ndarray) -> float:
    window = np.hanning(len(a))
    spectra = [np.abs(np.fft.rfft(x * window)) ** 2 for x in (a, b)]
    floor = max(float(s.max()) for s in spectra) * 1e-8 + 1e-20
    la, lb = (10 * np.log10(np.maximum(s, floor)) for s in spectra)
    return float(np.sqrt(np.mean((la - lb) ** 2)))


def tuning_clips(material: str) -> tuple[list[np.ndarray], int]:
    """The tuning clips and rate ``tune_fill.py`` uses for ``material``."""
    if material == "music":
        return [c.samples.astype(np.float64) for c in tuning_music_clips(count=8, sr=44100)], 44100
    return [resample(c.samples, 22050, 16000).astype(np.float64) for c in tuning_speech_clips(count=6)], 16000


def gap_cases(material: str, seed: int, gaps_per_clip: int, length_ms: int) -> list[tuple[np.ndarray, int, int]]:
    """The gaps ``tune_fill.py --seed S --gaps G`` fills at this length, in its order."""
    clips, sr = tuning_clips(material)
    rng = np.random.default_rng([seed, length_ms])
    return [(clip, s, e) for clip in clips
            for s, e in place_gaps(clip, sr, [length_ms] * gaps_per_clip, rng=rng, min_separation_s=2.5,
                                   edge_s=2.5)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="SEED:GAPS:DUMP.json[,DUMP.json]: one gap set's tune_fill run")
    parser.add_argument("--model", default="reamend")
    parser.add_argument("--material", default="music", choices=("music", "speech"))
    parser.add_argument("--thresholds", default="",
                        help="FEATURE=T1,T2,...[;FEATURE=...]: fixed thresholds to try (the same on every gap set)")
    parser.add_argument("--pool", default="", help="FEATURE=T: that rule's gain over all sets, paired bootstrap")
    parser.add_argument("--pool-max-ms", type=int, default=150, help="pool gap lengths up to this")
    args = parser.parse_args()
    fixed: dict[str, list[float]] = {}
    for spec in filter(None, args.thresholds.split(";")):
        name, values = spec.split("=", 1)
        fixed[name] = [float(v) for v in values.split(",")]
    pooled: list[tuple[float, float, float, float, float]] = []
    for spec in args.sets:
        seed, gaps_per_clip, dumps = spec.split(":", 2)
        print(f"== gap set: seed {seed}, {gaps_per_clip} gaps per clip")
        for length_ms, model, janssen, features in gap_set(args.material, int(seed), int(gaps_per_clip),
                                                           [Path(d) for d in dumps.split(",")], args.model):
            report(args.material, length_ms, model, janssen, features, fixed)
            if args.pool and length_ms <= args.pool_max_ms:
                name = args.pool.split("=")[0]
                pooled += [(features[f"{length_ms}/{g}"][name], model[g]["perceptual"], janssen[g]["perceptual"],
                            model[g]["lsd_db"], janssen[g]["lsd_db"]) for g in sorted(set(model) & set(janssen))]
    if pooled:
        name, threshold = args.pool.split("=")
        rows = np.array(pooled)
        pick = rows[:, 0] >= float(threshold)
        gain = np.where(pick, rows[:, 2] - rows[:, 1], 0.0)
        lsd_change = np.where(pick, rows[:, 4] - rows[:, 3], 0.0)
        low, high = bootstrap_mean_interval(gain, rng=np.random.default_rng(0), resamples=5000)
        print(f"pooled, gaps up to {args.pool_max_ms} ms: janssen if {name} >= {threshold} on {pick.sum()} of "
              f"{len(gain)} gaps: perceptual {gain.mean():+.4f} (95 % {low:+.4f} to "
              f"{high:+.4f}), LSD {100 * lsd_change.mean() / rows[:, 3].mean():+.1f} %")


Rows = dict[int, dict[str, float]]


def gap_set(material: str, seed: int, gaps_per_clip: int, dumps: list[Path],
            model_variant: str) -> list[tuple[int, Rows, Rows, dict[str, dict[str, float]]]]:
    """Per gap length: the model's and Janssen's per-gap rows and every gap's features (cached)."""
    table: dict[int, dict[str, Rows]] = defaultdict(lambda: defaultdict(dict))
    for dump in dumps:
        for row in json.loads(dump.read_text()):
            if row["material"] == material:
                table[row["length_ms"]][row["variant"]][row["gap"]] = row
    cache = dumps[0].with_suffix(".features.json" if material == "music" else f".{material}-features.json")
    sr = 44100 if material == "music" else 16000
    features: dict[str, dict[str, float]] = json.loads(cache.read_text()) if cache.exists() else {}
    out = []
    for length_ms, variants in sorted(table.items()):
        if model_variant not in variants or "janssen" not in variants:
            continue
        if any(f"{length_ms}/{g}" not in features or len(features[f"{length_ms}/{g}"]) < len(FEATURES)
               for g in variants["janssen"]):
            for index, (clip, s, e) in enumerate(gap_cases(material, seed, gaps_per_clip, length_ms)):
                damaged = clip.copy()
                damaged[s:e] = 0.0
                features[f"{length_ms}/{index}"] = context_features(damaged, sr, s, e)
            cache.write_text(json.dumps(features, indent=0))
        out.append((length_ms, variants[model_variant], variants["janssen"], features))
    return out


def report(material: str, length_ms: int, model: Rows, janssen: Rows,
           features: dict[str, dict[str, float]], fixed: dict[str, list[float]]) -> None:
    gaps = sorted(set(model) & set(janssen))
    m_lsd = np.array([model[g]["lsd_db"] for g in gaps])
    j_lsd = np.array([janssen[g]["lsd_db"] for g in gaps])
    m_p = np.array([model[g]["perceptual"] for g in gaps])
    j_p = np.array([janssen[g]["perceptual"] for g in gaps])
    best = np.where(j_p > m_p, j_p, m_p)
    print(f"{material} {length_ms} ms (n {len(gaps)}): model LSD {m_lsd.mean():.3f} P {m_p.mean():.4f} | "
          f"janssen LSD {j_lsd.mean():.3f} P {j_p.mean():.4f} | per-gap best P {best.mean():.4f}")
    for name in fixed or FEATURES:
        values = np.array([features[f"{length_ms}/{g}"][name] for g in gaps])
        corr = np.corrcoef(values, j_p - m_p)[0, 1]
        print(f"  {name:12s} corr with janssen's perceptual lead {corr:+.2f}; "
              f"values {np.round(np.percentile(values, [10, 50, 90]), 1).tolist()}")
        for threshold in fixed.get(name) or np.percentile(values, [50, 70, 80, 90]):
            pick = values >= threshold
            lsd = np.where(pick, j_lsd, m_lsd).mean()
            p = np.where(pick, j_p, m_p).mean()
            print(f"    janssen if >= {threshold:7.2f} ({pick.sum():2d} gaps): LSD {lsd:.3f}"
                  f" ({100 * (lsd / m_lsd.mean() - 1):+.1f} %) P {p:.4f} ({p - m_p.mean():+.4f})")


if __name__ == "__main__":
    main()
