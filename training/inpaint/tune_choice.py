"""Tune FillParams.copy_over_model_score on TRAINING material (never the benchmark's held-out set).

For gaps of 100-800 ms in training clips, prints the similarity match score and
the LSD of the similarity copy and of the model fill, binned by score, so the
threshold where a copy beats the model can be read off.
Run: python training/inpaint/tune_choice.py [checkpoint]  (default: the shipped weights)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from models.inpaint.dataset import music_clips, speech_clips
from models.inpaint.fill import FillParams, inpaint
from models.inpaint.gaps import Gap
from models.inpaint.metrics import lsd_db
from models.inpaint.network import SpectralGapNet
from models.inpaint.similarity import band_features, find_similar
from models.inpaint.simulate import place_gaps
from models.registry import load_model


def main() -> None:
    torch.set_num_threads(1)
    if len(sys.argv) > 1:
        state = torch.load(Path(sys.argv[1]), map_location="cpu", weights_only=True)
        model = SpectralGapNet(hidden=state["config"]["hidden"], copy_input=state["config"].get("copy_input", False))
        model.load_state_dict(state["state_dict"])
        model.eval()
    else:
        model = load_model("inpaint-gapnet", device="cpu")
    sr = 22050
    clips = [c.samples.astype(np.float64) for c in music_clips("train", count=100)[::10]]
    clips += [c.samples.astype(np.float64) for c in speech_clips("train", count=40)[::10]]
    rng = np.random.default_rng(7)
    rows = []
    for index, clip in enumerate(clips):
        lengths = rng.choice([100, 200, 400, 800], size=3).tolist()
        for start, end in place_gaps(clip, sr, lengths, rng=rng, min_separation_s=2.5, edge_s=2.5):
            damaged = clip.copy()
            damaged[start:end] = 0.0
            match = find_similar(damaged, sr, start, end, features=band_features(damaged, sr))
            if match is None:
                continue
            scores = {}
            for method in ("similarity", "model"):
                out = inpaint(damaged, sr, [Gap(start, end)], params=FillParams(method=method), model=model)
                scores[method] = lsd_db(clip, out.samples[:, 0], sr, start, end)
            rows.append((index >= 10, match.score, scores["similarity"], scores["model"]))
    data = np.array(rows)
    for lo, hi in ((0, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01)):
        sel = (data[:, 1] >= lo) & (data[:, 1] < hi)
        if sel.any():
            print(f"score {lo:.2f}-{hi:.2f}: n={sel.sum():3d} LSD copy {data[sel, 2].mean():.2f} "
                  f"model {data[sel, 3].mean():.2f} copy wins {np.mean(data[sel, 2] < data[sel, 3]):.2f}")


if __name__ == "__main__":
    main()
