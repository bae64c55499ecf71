"""Try "similarity copy instead of the model when its match score is high enough" rules offline.

Reads the per-gap figures ``tune_fill.py --dump`` wrote on the TUNING clips (never the
benchmark's held-out set) and, per material and gap length, prints the mean LSD and
perceptual score of the rule "copy when the match score of the gap's surroundings is at
least T, else the model's fill" for a range of T, next to the model and the copy alone.
The score is computed from the context only (the gap's samples are unknown), so the rule
is one :func:`models.inpaint.fill.inpaint` can apply.
Run: python training/inpaint/tune_copy_choice.py DUMP.json [--model VARIANT] [--thresholds 0.9,0.95]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    parser.add_argument("--model", default="reamend", help="the variant whose fill the rule falls back to")
    parser.add_argument("--thresholds", default="0.8,0.85,0.9,0.92,0.94,0.96,0.98,1.01")
    args = parser.parse_args()
    records = json.loads(args.dump.read_text())
    table: dict[tuple[str, int], dict[str, dict[int, dict[str, float]]]] = defaultdict(lambda: defaultdict(dict))
    for row in records:
        table[(row["material"], row["length_ms"])][row["variant"]][row["gap"]] = row
    thresholds = [float(v) for v in args.thresholds.split(",")]
    for (material, length_ms), variants in sorted(table.items()):
        if args.model not in variants or "similarity" not in variants:
            continue
        model, copy = variants[args.model], variants["similarity"]
        gaps = sorted(set(model) & set(copy))
        scores = np.array([model[g]["score"] if model[g]["score"] is not None else -1.0 for g in gaps])
        print(f"{material} {length_ms} ms (n {len(gaps)}; match scores {np.round(np.sort(scores), 2).tolist()})")
        for name, rows in (("model", model), ("copy", copy), *(
                (f"copy if score >= {t:.2f}", {g: (copy[g] if scores[i] >= t else model[g])
                                              for i, g in enumerate(gaps)}) for t in thresholds)):
            lsd = np.mean([rows[g]["lsd_db"] for g in gaps])
            perceptual = [rows[g]["perceptual"] for g in gaps if rows[g]["perceptual"] is not None]
            extra = f" perceptual {np.mean(perceptual):.3f}" if perceptual else ""
            print(f"  {name:22s} LSD {lsd:.3f}{extra}")


if __name__ == "__main__":
    main()
