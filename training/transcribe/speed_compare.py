"""Speed of the previous shipped model (run 4: one input plane) against the shipped one (run 5: plus the
8192-point spectrogram), both with 10 s chunks, interleaved on the same four benchmark files so that
both see the same machine load.

Usage: python training/transcribe/speed_compare.py   (prints x real time per setup, 1 and 2 threads)
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

import models.transcribe.network  # noqa: F401  (registers the architecture)
from models.registry import build_model, load_checkpoint_file
from models.transcribe import dataset
from models.transcribe.features import SAMPLE_RATE, normalize_peak
from models.transcribe.transcriber import predict

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    pieces = dataset.build_validation(REPO / "data-cache" / "transcribe", count=32)[8:12]
    audio = [normalize_peak(dataset.validation_audio_16k(p.audio["clean"])) for p in pieces]
    total_s = sum(a.shape[0] for a in audio) / SAMPLE_RATE
    previous = build_model(load_checkpoint_file(REPO / "training/transcribe/finetune3-step1000.pt")).eval()
    shipped = build_model(load_checkpoint_file(REPO / "models/weights/transcribe-piano.pt")).eval()
    setups = {"previous: 1 input plane": (previous, 500), "shipped: 2 input planes": (shipped, 500)}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        speeds: dict[str, list[float]] = {}
        for _ in range(3):
            for name, (model, chunk_frames) in setups.items():
                started = time.perf_counter()
                for samples in audio:
                    predict(model, samples, chunk_frames=chunk_frames)
                speeds.setdefault(name, []).append(round(total_s / (time.perf_counter() - started), 1))
        for name, values in speeds.items():
            print(f"{threads} thread(s) {name}: {values} median {sorted(values)[1]}x real time")


if __name__ == "__main__":
    main()
