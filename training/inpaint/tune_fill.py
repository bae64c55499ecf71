"""Compare long-gap fill variants on TRAINING material (never the benchmark's held-out set).

Music: the tuning clips (generated music the model never trains on, alternately
on FluidR3 and the FreePats pianos) at 44.1 kHz; speech: tuning clips (training
prompts and voices, never trained on) at 16 kHz. Gap positions use other seeds
than the benchmark. ``--material train-music,train-speech`` measures on clips the
model trained on instead.
Prints mean LSD (and ViSQOL / PESQ with --perceptual) per variant and gap length, and
the fill's level against the clean gap's (mean power in the gap, dB; negative = a dip).
``--candidate NAME=W.pt`` adds a variant filling with another weight file (repeatable);
``--dump FILE.json`` writes every gap's figures with its similarity match score, for
choice rules tried offline (``training/inpaint/tune_copy_choice.py``,
``training/inpaint/tune_janssen_choice.py``).
The ``oracle*`` variants give the phase reconstruction the clean clip's magnitudes
(below 11 kHz) instead of the model's: what the phase/border handling alone costs.
Run: python training/inpaint/tune_fill.py [--perceptual] [--lengths 100,200,400] [--variants a,b] [--weights W.pt]
     [--candidate NAME=W.pt ...] [--dump FILE.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.audio_io import resample
from models.inpaint.bench import BenchConfig, _perceptual_scorers
from models.inpaint.dataset import music_clips, speech_clips, tuning_music_clips, tuning_speech_clips
from models.inpaint.fill import FillParams, inpaint
from models.inpaint.gaps import Gap
from models.inpaint.metrics import lsd_db
from models.inpaint.network import LOG_FLOOR, SpectralGapNet
from models.inpaint.similarity import band_features, find_similar
from models.inpaint.simulate import place_gaps
from models.inpaint.spectral import SpectralParams, _model_bins
from models.inpaint.stft import REFERENCE_N_FFT, StftGrid, stft
from models.registry import build_model, load_checkpoint_file, load_model


@dataclass(frozen=True)
class Variant:
    params: FillParams
    uses_model: bool = True
    #: Replace the model by the clean clip's magnitudes.
    oracle: bool = False
    #: Another weight file's model instead of the one under test (``--candidate``).
    weights: Path | None = None


VARIANTS: dict[str, Callable[[], Variant]] = {
    "janssen": lambda: Variant(FillParams(method="janssen"), uses_model=False),
    "similarity": lambda: Variant(FillParams(method="similarity"), uses_model=False),
    "reamend": lambda: Variant(FillParams()),
}


class TrueMagnitudes:
    """Stands in for the network: the clean clip's log magnitudes around one gap, on the model's bins."""

    copy_input = False

    def __init__(self, clean: np.ndarray, sr: int, start: int, end: int, *, context_s: float) -> None:
        grid = StftGrid.for_rate(sr)
        context = int(context_s * sr)
        lo, hi = max(0, start - context), min(len(clean), end + context)
        scale = REFERENCE_N_FFT / grid.n_fft  # as spectral_fill puts magnitudes on the reference grid's level
        self.log_mag = _model_bins(np.log(np.abs(stft(clean[lo:hi], grid)) * scale + LOG_FLOOR).T)

    def __call__(self, log_mag: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(1, bins, frames)`` like the network's output."""
        assert log_mag.shape[-1] == self.log_mag.shape[1]
        return torch.from_numpy(self.log_mag[None].astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perceptual", action="store_true")
    parser.add_argument("--lengths", default="100,200,400")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--material", default="music,speech")
    parser.add_argument("--gaps", type=int, default=3, help="gaps per clip")
    parser.add_argument("--seed", type=int, default=4321, help="gap positions (another seed: other gaps)")
    parser.add_argument("--weights", type=Path, help="a weight file to try instead of the shipped one")
    parser.add_argument("--candidate", action="append", default=[],
                        help="NAME=W.pt: a variant NAME filling with that weight file (repeatable)")
    parser.add_argument("--dump", type=Path, help="write every gap's figures (and match score) to this JSON file")
    args = parser.parse_args()
    for spec in args.candidate:
        name, path = spec.split("=", 1)
        VARIANTS[name] = candidate_variant(Path(path))
        if name not in args.variants.split(","):
            args.variants += f",{name}"
    torch.set_num_threads(1)
    if args.weights is not None:
        model = build_model(load_checkpoint_file(args.weights))
        assert isinstance(model, SpectralGapNet)
    else:
        model = load_model("inpaint-gapnet", device="cpu")
    models: dict[Path, SpectralGapNet] = {}
    records: list[dict[str, object]] = []
    scorers = _perceptual_scorers(BenchConfig(perceptual=args.perceptual), [])
    material = {
        "music": lambda: ([c.samples.astype(np.float64) for c in tuning_music_clips(count=8, sr=44100)], 44100),
        "speech": lambda: ([resample(c.samples, 22050, 16000).astype(np.float64)
                            for c in tuning_speech_clips(count=6)], 16000),
        "train-music": lambda: ([c.samples.astype(np.float64) for c in music_clips("train", count=6, sr=44100)],
                                44100),
        "train-speech": lambda: ([resample(c.samples, 22050, 16000).astype(np.float64)
                                  for c in speech_clips("train", count=40)[2::9]], 16000),
    }
    for name in args.material.split(","):
        clips, sr = material[name]()
        for length_ms in (int(v) for v in args.lengths.split(",")):
            rng = np.random.default_rng([args.seed, length_ms])
            cases = [(clip, s, e) for clip in clips
                     for s, e in place_gaps(clip, sr, [length_ms] * args.gaps, rng=rng, min_separation_s=2.5,
                                            edge_s=2.5)]
            scores = [match_score(clip, sr, s, e) for clip, s, e in cases] if args.dump else []
            for variant in args.variants.split(","):
                chosen = VARIANTS[variant]()
                lsds, perceptual, levels, began = [], [], [], time.perf_counter()
                for index, (clip, s, e) in enumerate(cases):
                    damaged = clip.copy()
                    damaged[s:e] = 0.0
                    used: object = model if chosen.uses_model else None
                    if chosen.weights is not None:
                        if chosen.weights not in models:
                            models[chosen.weights] = candidate_model(chosen.weights)
                        used = models[chosen.weights]
                    if chosen.oracle:
                        used = TrueMagnitudes(clip, sr, s, e, context_s=chosen.params.spectral.context_s)
                    out = inpaint(damaged, sr, [Gap(s, e)], params=chosen.params, model=used)
                    estimate = out.samples[:, 0]
                    lsds.append(lsd_db(clip, estimate, sr, s, e))
                    power = (np.mean(estimate[s:e] ** 2) + 1e-12) / (np.mean(clip[s:e] ** 2) + 1e-12)
                    levels.append(10 * np.log10(power))
                    if name.removeprefix("train-") in scorers:
                        lo, hi = max(0, s - sr), min(len(clip), e + sr)
                        perceptual.append(scorers[name.removeprefix("train-")][1](clip[lo:hi], estimate[lo:hi], sr))
                    if args.dump:
                        records.append({"material": name, "length_ms": length_ms, "gap": index, "variant": variant,
                                        "score": scores[index], "lsd_db": lsds[-1], "level_db": levels[-1],
                                        "perceptual": perceptual[-1] if perceptual else None})
                extra = f" perceptual {np.mean(perceptual):.3f}" if perceptual else ""
                print(f"{name:6s} {length_ms:4d} ms {variant:14s} n {len(cases):2d} LSD {np.mean(lsds):.3f}{extra}"
                      f" level {np.mean(levels):+.1f} dB"
                      f"  ({(time.perf_counter() - began) / max(1, len(cases)):.2f} s/gap)", flush=True)
                if args.dump:
                    args.dump.write_text(json.dumps(records, indent=0))


def candidate_variant(path: Path) -> Callable[[], Variant]:
    return lambda: Variant(FillParams(), weights=path)


def candidate_model(path: Path) -> SpectralGapNet:
    model = build_model(load_checkpoint_file(path))
    assert isinstance(model, SpectralGapNet)
    return model


def match_score(clip: np.ndarray, sr: int, start: int, end: int) -> float | None:
    """The similarity match score the automatic choice sees for this gap (as in :func:`inpaint`)."""
    damaged = clip.copy()
    damaged[start:end] = 0.0
    known = np.ones(len(clip), dtype=bool)
    known[start:end] = False
    match = find_similar(damaged, sr, start, end, known=known, features=band_features(damaged, sr))
    return None if match is None else match.score


def variant(name: str, params: FillParams, *, uses_model: bool = True, oracle: bool = False) -> None:
    """Register a fill variant under ``name``."""
    VARIANTS[name] = lambda: Variant(params, uses_model=uses_model, oracle=oracle)


if __name__ == "__main__":
    variant("copy99", FillParams(copy_over_model_score_long=0.99))  # the copy rule before 300 ms+ gaps had their own
    variant("fade0", dataclasses.replace(FillParams(), fade_ms=0.0))
    variant("fade5", dataclasses.replace(FillParams(), fade_ms=5.0))
    variant("fade10", dataclasses.replace(FillParams(), fade_ms=10.0))
    variant("fade40", dataclasses.replace(FillParams(), fade_ms=40.0))
    variant("fade18", dataclasses.replace(FillParams(), fade_ms=18.0))
    variant("fade32", dataclasses.replace(FillParams(), fade_ms=32.0))
    variant("copyphase", FillParams(spectral=SpectralParams(phase_start="copy")))
    for iterations in (0, 10, 20, 40, 160):
        variant(f"it{iterations}", FillParams(spectral=SpectralParams(iterations=iterations)))
    variant("oracle", FillParams(method="model"), oracle=True)
    variant("oracle-fade0", FillParams(method="model", fade_ms=0.0), oracle=True)
    variant("oracle-copyphase", FillParams(method="model", spectral=SpectralParams(phase_start="copy")), oracle=True)
    variant("oracle-copyphase-fade0", FillParams(method="model", fade_ms=0.0,
                                                 spectral=SpectralParams(phase_start="copy")), oracle=True)
    for momentum in (0.5, 0.9):
        variant(f"m{momentum}", FillParams(spectral=SpectralParams(momentum=momentum)))
    variant("power", FillParams(spectral=SpectralParams(equal_gain_fade=False)))
    variant("oracle-power", FillParams(method="model", spectral=SpectralParams(equal_gain_fade=False)), oracle=True)
    variant("ar-short", FillParams(spectral=SpectralParams(border_ar_ms=((92.9, 5.8),))))
    variant("ar-long", FillParams(spectral=SpectralParams(border_ar_ms=((186.0, 17.4),))))
    variant("ar-margin1", FillParams(spectral=SpectralParams(border_ar_margin=1.0)))
    main()
