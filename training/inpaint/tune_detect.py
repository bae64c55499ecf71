"""Tune the tape-dropout detector on TRAINING material (never the benchmark's held-out set).

Simulates dropouts exactly as the benchmark does, but on training clips (the
training soundfont's music rendered at 44.1 kHz, training speech at 16 kHz) with other seeds, and prints
precision/recall per material plus every false positive and miss.
Run: python training/inpaint/tune_detect.py [--verbose] [--more]  (--more: every training speech clip, other seeds)
"""

from __future__ import annotations

import sys

import numpy as np

from models.audio_io import resample
from models.inpaint.dataset import music_clips, speech_clips
from models.inpaint.detect import DetectParams, detect_dropouts
from models.inpaint.simulate import score_detection, simulate_dropouts


def main() -> None:
    verbose = "--verbose" in sys.argv
    more = "--more" in sys.argv
    # Rendered at 44.1 kHz like the benchmark's music (an upsampled 22.05 kHz render has no top octave).
    music = [c.samples.astype(np.float64) for c in music_clips("train", count=10, sr=44100)]
    chosen = speech_clips("train", count=40)
    chosen = chosen if more else chosen[1::4]
    speech = [resample(c.samples, 22050, 16000).astype(np.float64) for c in chosen]
    for material, clips, sr in (("music", music, 44100), ("speech", speech, 16000)):
        for kind, kinds, params in (("digital", ("digital_zeros", "held_value"), DetectParams(detect_tape=False)),
                                    ("tape", ("tape",), DetectParams())):
            tp = fp = fn = 0
            for index, clip in enumerate(clips):
                rng = np.random.default_rng([778 if more else 777, index, len(kind), len(material)])
                damage = simulate_dropouts(clip, sr, rng=rng, count=10, kinds=kinds)  # type: ignore[arg-type]
                found = detect_dropouts(damage.samples, sr, params=params)
                score = score_detection(damage.gaps, found)
                tp, fp, fn = tp + score.true_positives, fp + score.false_positives, fn + score.false_negatives
                if verbose and (score.false_positives or score.false_negatives):
                    truth = [(round(g.start / sr, 3), round(g.end / sr, 3)) for g in damage.gaps]
                    got = [(round(g.start / sr, 3), round(g.end / sr, 3), round(g.confidence, 2)) for g in found]
                    print(f"  {material} {kind} clip {index}: truth {truth}\n    found {got}")
            p = tp / max(1, tp + fp)
            r = tp / max(1, tp + fn)
            print(f"{material:6s} {kind:7s} P {p:.3f} R {r:.3f} F1 {2 * p * r / max(1e-9, p + r):.3f} "
                  f"TP {tp} FP {fp} FN {fn}", flush=True)


if __name__ == "__main__":
    main()
