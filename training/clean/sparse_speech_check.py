"""Mics nobody, or almost nobody, speaks into: speech-free and sparse-speech tracks built from the
TRAINING material with new seeds (the held-out draws are never read), scored like the benchmark.

In a multitrack session every mic is analysed alone, and a guest who says a few sentences in an hour
gives a track where speech fills well under a tenth of the frames. Three sets:

- ``speech-free``: 30 s episodes with no speech (room tone, breaths, clicks, bumps, noise);
- ``sparse``: a speech-free episode with one window of 0.8-3 s (starting at an utterance) spliced in
  from an episode with speech, joined by 10 ms crossfades; the window's frames keep their labels;
- ``rare``: the same with ten speech-free episodes in a row (5 minutes), so under 1 % speech;
- ``lone``: one such window in 5 minutes of room tone alone (nothing else ever sounds on that mic).

For each: remove-class precision and recall, speech frames cut (the planner's cut, as in the
benchmark) and speech frames protected (inside the planner's cautious speech mask), with the shipped
detector and the current code. Run from the repository root::

    python training/clean/sparse_speech_check.py --out data-cache/clean/runs/sparse-check.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tune_events import score_set

from models.atomic import atomic_path
from models.clean import bench, sounds
from models.clean.detect import analyse, measure_signal
from models.clean.episodes import Episode, compose_episode
from models.clean.labels import ANALYSIS_SR, HOP, PAUSE, SPEECH
from models.clean.pipeline import load_detector
from models.clean.planner import speech_mask
from models.clean.sources import Material, load_material

REPO = Path(__file__).resolve().parents[2]
SEED = 9090
EPISODE_S = 30.0
CROSSFADE = int(0.01 * ANALYSIS_SR)
RARE_TRACKS = 10
RARE_EPISODES = 10


def splice(background: Episode, donor: Episode, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``background`` with one window of ``donor`` from an utterance start, 0.8-3 s long."""
    is_speech = donor.labels == SPEECH
    starts = np.flatnonzero(is_speech[1:] & ~is_speech[:-1]) + 1
    length = int(rng.uniform(0.8, 3.0) * ANALYSIS_SR / HOP)
    frames = background.labels.shape[0]
    starts = starts[(starts >= 5) & (starts + length < donor.labels.shape[0])]
    source = int(rng.choice(starts)) - 5
    target = int(rng.integers(5, frames - length - 5))
    audio, labels = background.audio.copy(), background.labels.copy()
    piece = donor.audio[source * HOP:(source + length) * HOP]
    ramp = np.ones(piece.shape[0], dtype=np.float32)
    ramp[:CROSSFADE] = np.linspace(0.0, 1.0, CROSSFADE)
    ramp[-CROSSFADE:] = np.linspace(1.0, 0.0, CROSSFADE)
    lo = target * HOP
    audio[lo:lo + piece.shape[0]] = audio[lo:lo + piece.shape[0]] * (1 - ramp) + piece * ramp
    labels[target:target + length] = donor.labels[source:source + length]
    return audio, labels


def tracks(count: int) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """Every set's audio and frame labels, rendered the first time and cached (so that other
    versions of the code can be scored on the very same tracks)."""
    cache = REPO / "data-cache" / "clean" / f"sparse-check-{count}-{SEED}.npz"
    names = ("speech-free", "sparse")
    if not cache.exists():
        material = load_material(REPO / "data-cache" / "clean" / "material", "train")
        rng = np.random.default_rng(SEED)
        rendered: dict[str, list[np.ndarray]] = {key: [] for key in ("free_audio", "free_labels", "sparse_audio",
                                                                     "sparse_labels")}
        for _ in range(count):
            background = compose_episode(material, rng, duration_s=EPISODE_S, speech=False)
            rendered["free_audio"].append(background.audio)
            rendered["free_labels"].append(background.labels)
            donor = compose_episode(material, rng, duration_s=EPISODE_S, speech=True)
            audio, labels = splice(background, donor, rng)
            rendered["sparse_audio"].append(audio)
            rendered["sparse_labels"].append(labels)
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **{key: np.stack(value) for key, value in rendered.items()})
    stored = np.load(cache)
    sets = {name: (list(stored[f"{prefix}_audio"]), list(stored[f"{prefix}_labels"]))
            for name, prefix in zip(names, ("free", "sparse"), strict=True)}
    sets["rare"] = rare_tracks()
    sets["lone"] = lone_tracks()
    return sets


def _long_tracks(name: str, seed: int,
                 make: Callable[[Material, np.random.Generator], tuple[np.ndarray, np.ndarray]]
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``RARE_TRACKS`` tracks from ``make``, rendered from the training material the first time and cached."""
    cache = REPO / "data-cache" / "clean" / f"sparse-check-{name}-{RARE_TRACKS}-{seed}.npz"
    if not cache.exists():
        material = load_material(REPO / "data-cache" / "clean" / "material", "train")
        rng = np.random.default_rng(seed)
        audio, labels = zip(*(make(material, rng) for _ in range(RARE_TRACKS)), strict=True)
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, audio=np.stack(audio), labels=np.stack(labels))
    stored = np.load(cache)
    return list(stored["audio"]), list(stored["labels"])


def rare_tracks() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Ten speech-free episodes in a row (5 minutes) with one spliced window of speech: under 1 % of the
    track, a guest who says a sentence or two in an hour."""
    def make(material: Material, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        parts = [compose_episode(material, rng, duration_s=EPISODE_S, speech=False) for _ in range(RARE_EPISODES)]
        background = Episode(audio=np.concatenate([e.audio for e in parts]),
                             labels=np.concatenate([e.labels for e in parts]))
        return splice(background, compose_episode(material, rng, duration_s=EPISODE_S, speech=True), rng)

    return _long_tracks("rare", SEED + 1, make)


def lone_tracks() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """5 minutes of room tone alone (no breath, click or bump; 25-65 dB under the speech) with one
    spliced window of speech: a quiet mic that hears nothing else."""
    samples = int(RARE_EPISODES * EPISODE_S * ANALYSIS_SR)

    def make(material: Material, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        donor = compose_episode(material, rng, duration_s=EPISODE_S, speech=True)
        voiced = np.repeat(donor.labels == SPEECH, HOP)[:donor.audio.shape[0]]
        speech_rms = float(np.sqrt(np.mean(donor.audio[voiced] ** 2)))
        tone = sounds.room_tone(rng, samples) * speech_rms * 10 ** (-rng.uniform(25, 65) / 20)
        background = Episode(audio=tone.astype(np.float32), labels=np.full(samples // HOP, PAUSE, dtype=np.int8))
        return splice(background, donor, rng)

    return _long_tracks("lone", SEED + 2, make)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=40, help="tracks per set")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the scores")
    args = parser.parse_args()
    torch.set_num_threads(2)
    sets = tracks(args.episodes)
    model = load_detector(device="cpu")
    settings = bench.bench_settings()
    rows = []
    for name, (audio, labels) in sets.items():
        analyses = [analyse(measure_signal(a), model, duration_s=a.shape[0] / ANALYSIS_SR, sample_rate=ANALYSIS_SR)
                    for a in audio]
        scores = score_set(analyses, labels, settings)
        speech = sum(int(np.sum(t == SPEECH)) for t in labels)
        protected = sum(int(np.sum(speech_mask(a, settings)[:t.shape[0]] & (t[:a.frames] == SPEECH)))
                        for a, t in zip(analyses, labels, strict=True))
        row = {"set": name, "tracks": len(audio), "precision": scores.precision, "recall": scores.recall,
               "speech_removed": scores.speech_removed, "speech_frames": speech,
               "speech_protected": protected / speech if speech else float("nan")}
        rows.append(row)
        print(f"{name:12s} {len(audio)} tracks  precision {scores.precision:.4f}  recall {scores.recall:.4f}  "
              f"speech cut {100 * scores.speech_removed:.3f} %  speech protected "
              f"{100 * row['speech_protected']:.1f} % of {speech} frames", flush=True)
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
