"""After the choices were made: how much of the benchmark gain comes from the weights and how much
from the decoding. Nothing here chooses anything (the benchmark pieces never do).

Usage: python training/transcribe/attribute_gain.py   (onset F1 / onset+offset F1, clean and tape)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

import models.transcribe.network  # noqa: F401  (registers the architecture)
from models.registry import build_model, load_checkpoint_file
from models.transcribe import dataset
from models.transcribe.decode import DecodeSettings, decode
from models.transcribe.evaluate import NoteScores, mean_scores, notes_matrix, score
from models.transcribe.features import normalize_peak
from models.transcribe.transcriber import predict

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = {"run 3 weights": "training/transcribe/finetune2-step600.pt",
           "run 4 weights": "models/weights/transcribe-piano.pt"}
DECODINGS = {
    "previous decoding": DecodeSettings(onset_threshold=0.3, ghost_ratio=0.8, ghost_frame_threshold=0.85,
                                        release_keys=0),
    "new thresholds, no pedal rule": replace(DecodeSettings(), release_keys=0),
    "new decoding": DecodeSettings(),
}


def main() -> None:
    torch.set_num_threads(1)
    pieces = dataset.build_validation(REPO / "data-cache" / "transcribe", count=32)[8:32]
    for weights_name, path in WEIGHTS.items():
        model = build_model(load_checkpoint_file(REPO / path)).eval()
        results: dict[str, dict[str, list[NoteScores]]] = {name: {"clean": [], "tape": []} for name in DECODINGS}
        for piece in pieces:
            truth = dataset.read_truth(piece.notes)
            for condition in ("clean", "tape"):
                posteriors = predict(model, normalize_peak(dataset.validation_audio_16k(piece.audio[condition])))
                for name, settings in DECODINGS.items():
                    results[name][condition].append(score(truth, notes_matrix(decode(posteriors, settings))))
        for name, by_condition in results.items():
            means = {c: mean_scores(v) for c, v in by_condition.items()}
            print(f"{weights_name} | {name} | "
                  + " ".join(f"{c} {m['onset_f1']:.3f}/{m['onset_offset_f1']:.3f}" for c, m in means.items()))


if __name__ == "__main__":
    main()
