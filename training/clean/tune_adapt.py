"""Score per-recording breath adaptation (``models/clean/adapt.py``) against the plain detector.

The candidates and the adoption rule were written down before any score
(``training/clean/adapt-rule.md``). Each ``--pair`` is ``DETECTOR:EPISODES`` as in
``compare_detectors.py`` (tuning or leave-one-source-out check episodes; never the held-out
ones). The network runs once per episode, as ``analyse`` runs it, and every candidate re-plans
the same outputs, so the comparison is paired.

Run from the repository root::

    python training/clean/tune_adapt.py --out data-cache/clean/runs/adapt.json \\
        --pair shipped:data-cache/clean/tune-episodes-v5.npz
"""

from __future__ import annotations

import json

import numpy as np
import torch
from tune_events import (
    load_detector_spec,
    pair_parser,
    score_fields,
    score_set,
    score_summary,
    split_pair,
    tuning_episodes,
)

from models.clean import bench
from models.clean.adapt import AdaptSettings, adapt_probs
from models.clean.detect import TrackAnalysis, apply_signal_logic, measure_signal, run_model
from models.clean.features import normalise, reference_level_db
from models.clean.labels import ANALYSIS_SR

CANDIDATES = {"base": None, "a": AdaptSettings(0.9, 5.0), "b": AdaptSettings(0.9, 10.0),
              "c": AdaptSettings(0.9, 20.0), "d": AdaptSettings(0.8, 10.0)}


def main() -> None:
    args = pair_parser(__doc__.split("\n")[0]).parse_args()
    torch.set_num_threads(1)
    settings = bench.bench_settings()
    rows = []
    for pair in args.pair:
        spec, episodes = split_pair(pair)
        model = load_detector_spec(spec)
        episode_audio, labels = tuning_episodes(episodes)
        measured = []
        for audio in episode_audio:
            raw = measure_signal(audio)
            reference = reference_level_db(raw.energy_db)
            embeddings = np.zeros((raw.frames, model.head.in_features), dtype=np.float32)
            probs = run_model(model, normalise(raw, reference), embeddings=embeddings, workers=1)
            measured.append((raw, reference, probs, embeddings, audio.shape[0] / ANALYSIS_SR))
        for name, candidate in CANDIDATES.items():
            analyses = []
            adapted = 0
            for raw, reference, probs, embeddings, duration in measured:
                used = probs if candidate is None else adapt_probs(embeddings, probs, candidate)
                adapted += int(used is not probs)
                analyses.append(TrackAnalysis(probs=used, labels=apply_signal_logic(used, raw.energy_db, reference),
                                              energy_db=raw.energy_db, reference_db=reference, duration_s=duration,
                                              sample_rate=ANALYSIS_SR))
            scores = score_set(analyses, list(labels), settings)
            rows.append({"detector": spec, "episodes": str(episodes), "candidate": name, "adapted_episodes": adapted,
                         **score_fields(scores)})
            print(f"{pair} {name} ({adapted} adapted): {score_summary(scores)}", flush=True)
            args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
