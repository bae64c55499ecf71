"""Apply a detector rule's conditions (``finetune-voices-rule.md`` and the rules after it) to
``compare_detectors.py`` outputs, so that a rule's verdict is computed, not read off by eye.

For each candidate (``--candidate NAME=SUBSTRING``: the detectors whose path contains SUBSTRING, one
per seed) it prints the seeds' mean precision, recall, breath recall and speech frames cut per episode
set, and the rule's two conditions against the shipped detector's committed figures (``--baseline``):

1. unheard voices: speech frames cut <= 0.10 % and remove-class F1 >= the shipped detector's;
2. tuning v5 and v4: precision and recall each at least the shipped detector's minus 0.2 points,
   speech frames cut at most 0.005 points above.

Run: python training/clean/rule_check.py data-cache/clean/runs/floor-A-scores.json ... \\
         --candidate A=floor-s --candidate B=floorft-s
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

#: The shipped detectors on the three sets: precision, recall, speech cut. v5: ``more-voices-results.txt``;
#: v6 (shipped alone in the fourteenth session): its seed-1234 lines in ``floor-labels-2-results.txt``;
#: e6 (the two v6 networks averaged, shipped since): ``ensemble-v6-results.txt``.
BASELINES = {
    "v5": {"unseen": (0.9118, 0.9756, 0.00695), "v5": (0.9897, 0.9955, 0.0), "v4": (0.9831, 0.9902, 0.0)},
    "v6": {"unseen": (0.9803, 0.9780, 0.000132), "v5": (0.9898, 0.9957, 0.0), "v4": (0.9848, 0.9896, 0.0)},
    "e6": {"unseen": (0.9801, 0.9791, 0.000132), "v5": (0.9904, 0.9958, 0.0), "v4": (0.9860, 0.9887, 0.0)},
}
TUNING_LIMIT_POINTS = 0.2
SPEECH_CUT_LIMIT_POINTS = 0.005
UNHEARD_SPEECH_CUT = 0.001


def set_key(episodes: str) -> str:
    name = Path(episodes).name
    if name.startswith("unseen-voices"):
        return "unseen"
    for key in ("v5", "v4"):
        if name == f"tune-episodes-{key}.npz":
            return key
    raise SystemExit(f"not one of the rule's sets: {episodes}")


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall)


def verdict(rows: list[dict], name: str, baseline: dict[str, tuple[float, float, float]]) -> bool:
    """Print the candidate's means and conditions; True when both conditions hold."""
    passed = True
    for key, (p0, r0, cut0) in baseline.items():
        cell = [row for row in rows if set_key(row["episodes"]) == key]
        if not cell:
            raise SystemExit(f"candidate {name} has no scores on the {key} set")
        p = sum(row["precision"] for row in cell) / len(cell)
        r = sum(row["recall"] for row in cell) / len(cell)
        breath = sum(row["recall_by_class"]["breath"] for row in cell) / len(cell)
        cut = sum(row["speech_removed"] for row in cell) / len(cell)
        line = (f"{name} {key:6s} ({len(cell)} seeds): P {p:.4f} R {r:.4f} breath {breath:.4f} "
                f"speech cut {100 * cut:.3f} %")
        if key == "unseen":
            ok = cut <= UNHEARD_SPEECH_CUT and f1(p, r) >= f1(p0, r0)
            line += f"; F1 {f1(p, r):.4f} vs shipped {f1(p0, r0):.4f}, cut <= 0.10 %: {'pass' if ok else 'FAIL'}"
        else:
            dp, dr, dcut = 100 * (p - p0), 100 * (r - r0), 100 * (cut - cut0)
            ok = min(dp, dr) >= -TUNING_LIMIT_POINTS and dcut <= SPEECH_CUT_LIMIT_POINTS
            line += (f"; precision {dp:+.3f}, recall {dr:+.3f}, speech cut {dcut:+.4f} points "
                     f"(each >= -0.2; cut <= +0.005): {'pass' if ok else 'FAIL'}")
        passed &= ok
        print(line)
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scores", type=Path, nargs="+", help="compare_detectors.py --out files")
    parser.add_argument("--candidate", action="append", required=True, metavar="NAME=SUBSTRING")
    parser.add_argument("--baseline", choices=tuple(BASELINES), default="v5",
                        help="the shipped detector the rule compares with (v5 for the rules before v6 shipped)")
    args = parser.parse_args()
    rows = [row for path in args.scores for row in json.loads(path.read_text())]
    for spec in args.candidate:
        name, _, needle = spec.partition("=")
        chosen = [row for row in rows if needle in row["detector"]]
        passed = verdict(chosen, name, BASELINES[args.baseline])
        print(f"{name}: {'passes conditions 1 and 2' if passed else 'fails'}")


if __name__ == "__main__":
    main()
