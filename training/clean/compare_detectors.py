"""Score detectors side by side with the shipped planner on tuning or leave-one-source-out check
episodes (the held-out episodes are never read): how a retrained detector is compared with the
shipped one before it may replace it.

Run from the repository root::

    python training/clean/compare_detectors.py --out data-cache/clean/runs/cycle2-scores.json \\
        --pair shipped:data-cache/clean/tune-episodes-v5.npz \\
        --pair data-cache/clean/runs/full-cycle2.pt:data-cache/clean/tune-episodes-v5.npz

Each ``--pair`` is ``DETECTOR:EPISODES`` (``shipped`` names the shipped weights, ``a.pt,b.pt`` an
ensemble; ``unseen-voices`` as EPISODES renders, the first time, and scores the unheard-voice check
episodes of ``models.clean.training.ensure_unseen_voice_set``, as in every harness's ``--pair``).
Prints one line per pair: remove-class precision and recall, recall per class, speech frames cut and
short-pause frames cut, the benchmark's measures (``models/clean/bench.py``); the JSON holds the same
figures unrounded.
"""

from __future__ import annotations

import json

import torch
from tune_events import analyses_of, pair_parser, score_fields, score_set, score_summary, split_pair

from models.clean import bench


def main() -> None:
    args = pair_parser(__doc__.split("\n")[0]).parse_args()
    torch.set_num_threads(1)
    settings = bench.bench_settings()
    rows = []
    for pair in args.pair:
        spec, episodes = split_pair(pair)
        analyses, labels = analyses_of(spec, episodes)
        scores = score_set(analyses, labels, settings)
        rows.append({"detector": spec, "episodes": str(episodes), **score_fields(scores)})
        print(f"{pair}: {score_summary(scores)}", flush=True)
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
