"""Pool ``tune_fill.py --dump`` files of several gap sets: each variant's mean perceptual score and LSD,
and its paired difference from a reference variant with a percentile-bootstrap 95 % interval over gaps.

The adoption rules for long-gap changes (``training/inpaint/*-rule.md``) are judged on these pooled
figures. A dump's gap set is the part of its file name before the first ``-`` (``D-base.json`` and
``D-candidates.json`` are set D); gaps are paired by (set, gap index), so every variant must have
scored the same gaps.

Run: python training/inpaint/pool_tuning.py A-base.json A-new.json B-base.json ... [--reference reamend]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.stats import BOOTSTRAP_RESAMPLES, bootstrap_mean_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dumps", type=Path, nargs="+")
    parser.add_argument("--reference", default="reamend", help="the variant every other one is compared with")
    parser.add_argument("--material", default="music")
    parser.add_argument("--length", type=int, default=100, help="gap length in ms")
    args = parser.parse_args()
    scores: dict[str, dict[tuple[str, int], tuple[float, float]]] = defaultdict(dict)
    per_set: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for dump in args.dumps:
        for record in json.loads(dump.read_text()):
            if record["material"] != args.material or record["length_ms"] != args.length:
                continue
            gap_set = dump.stem.split("-")[0]
            scores[record["variant"]][(gap_set, record["gap"])] = (record["perceptual"], record["lsd_db"])
            per_set[record["variant"]][gap_set].append(record["perceptual"])
    reference = scores[args.reference]
    keys = sorted(reference)
    print(f"{len(keys)} gaps ({args.material}, {args.length} ms) in {len({k[0] for k in keys})} gap sets; "
          f"differences against {args.reference}, 95 % interval over gaps ({BOOTSTRAP_RESAMPLES} resamples)")
    for variant, by_gap in scores.items():
        if set(by_gap) != set(keys):
            raise SystemExit(f"{variant} did not score the same gaps as {args.reference}")
        perceptual = np.array([by_gap[k][0] for k in keys])
        lsd = np.array([by_gap[k][1] for k in keys])
        difference = perceptual - np.array([reference[k][0] for k in keys])
        low, high = bootstrap_mean_interval(difference, rng=np.random.default_rng(0), resamples=BOOTSTRAP_RESAMPLES)
        sets = " ".join(f"{name}:{np.mean(values):.4f}" for name, values in per_set[variant].items())
        print(f"{variant:12s} perceptual {perceptual.mean():.4f}  difference {difference.mean():+.4f} "
              f"({low:+.4f} to {high:+.4f})  LSD {lsd.mean():.3f} dB  per set {sets}")


if __name__ == "__main__":
    main()
