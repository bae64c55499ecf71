"""Choose the planner's breath-event rules on the tuning and the leave-one-breath-source-out check
episodes; the held-out episodes are never read: EVENT_GUARD_FRAMES, BREATH_GROW_PROB, the default
``min_breath_ms`` and the audible-unrecognised-sound rule (AUDIBLE_EVENT_PROB 1.01 switches it off:
three probabilities never sum past 1).

Run from the repository root: ``python training/clean/tune_events.py``. Each pair is a detector and
a set of episodes: the shipped weights on the tuning episodes of both recipes (training voices and
breath sources), and the leave-one-source-out checkpoints of ``loso_check.py`` on the episodes of
the source they never heard (``--pair CHECKPOINT:SET`` replaces the defaults; ``shipped`` names the
shipped weights, ``a.pt,b.pt`` an ensemble). The detector runs once per episode; each candidate
then re-plans. Prints remove-class precision, recall, breath recall, speech frames cut and
short-pause frames cut per candidate and pair (recorded in ``data-cache/clean/runs/tune-events.txt``;
``--rule-grid``: ``tune-events-rule.txt``).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.clean import bench, planner
from models.clean.detect import TrackAnalysis, analyse, measure_signal
from models.clean.labels import ANALYSIS_SR
from models.clean.network import FrameNet  # noqa: F401  (registers the architecture)
from models.clean.pipeline import load_detector
from models.clean.planner import PlanSettings
from models.clean.training import TrainConfig, detector_from_checkpoints, ensure_unseen_voice_set, load_validation_set

CACHE = Path("data-cache/clean")
RUNS = CACHE / "runs"
LAST_CHECKPOINT = Path("training/clean/last.pt")
DEFAULT_PAIRS = (
    f"{RUNS}/loso-v5-no-fluidr3_gm-121-1000.pt:{CACHE}/unseen-fluidr3_gm-121-episodes-v5.npz",
    f"{RUNS}/loso-v5-no-espeak-whisper+fluidr3_gm-121-1000.pt:{CACHE}/unseen-espeak-whisper-episodes-v5.npz",
    f"{RUNS}/loso-v5-no-espeak-whisper+fluidr3_gm-121-1000.pt:{CACHE}/unseen-fluidr3_gm-121-episodes-v5.npz",
    f"shipped:{CACHE}/tune-episodes-v5.npz",
    f"shipped:{CACHE}/tune-episodes-v4.npz",
)
#: With ``--rule-grid``: (AUDIBLE_ABOVE_FLOOR_DB, REVERB_TAIL_MS, AUDIBLE_EVENT_PROB) around the
#: chosen rule, each ingredient taken away or moved in turn (guard 1, growth 0.3, 60 ms breaths).
RULE_GRID = ((3.0, 200.0, 0.1), (6.0, 200.0, 0.1), (-200.0, 200.0, 0.1), (3.0, 200.0, 0.0),
             (3.0, 0.0, 0.1), (3.0, 100.0, 0.1), (3.0, 200.0, 0.2))
GUARDS = (2, 1)
GROW_PROBS = (0.3, 0.2)
MIN_BREATH_MS = (80.0, 60.0)
AUDIBLE_PROBS = (1.01, 0.1)


def load_detector_spec(spec: str) -> Any:
    """``shipped``, one checkpoint, or ``a.pt,b.pt`` (their ensemble)."""
    if spec == "shipped":
        return load_detector(device="cpu")
    return detector_from_checkpoints([Path(part) for part in spec.split(",")])


def split_pair(pair: str) -> tuple[str, Path]:
    """``DETECTOR:EPISODES`` of a harness's ``--pair``; the episodes ``unseen-voices`` name the
    unheard-voice check set (``ensure_unseen_voice_set``), rendered the first time."""
    spec, episodes = pair.rsplit(":", 1)
    if episodes == "unseen-voices":
        return spec, ensure_unseen_voice_set(TrainConfig(cache_dir=CACHE, checkpoint=LAST_CHECKPOINT))
    return spec, Path(episodes)


def tuning_episodes(episodes: Path) -> tuple[np.ndarray, np.ndarray]:
    """Audio and labels of tuning or check episodes; the held-out ones are refused."""
    if "val-episodes" in episodes.name:
        raise SystemExit("the held-out episodes are not for tuning")
    return load_validation_set(episodes)


def analyses_of(spec: str, episodes: Path) -> tuple[list[TrackAnalysis], list[np.ndarray]]:
    model = load_detector_spec(spec)
    audio, labels = tuning_episodes(episodes)
    analyses = [analyse(measure_signal(a), model, duration_s=a.shape[0] / ANALYSIS_SR, sample_rate=ANALYSIS_SR)
                for a in audio]
    return analyses, list(labels)


def planned(analyses: list[TrackAnalysis],
            settings: PlanSettings) -> Callable[[np.ndarray], bench.SystemOutput]:
    """A benchmark "system" that re-plans cached analyses: its input is the episode's index."""
    return lambda index: bench.system_output(analyses[int(index[0])], settings)


def score_set(analyses: list[TrackAnalysis], labels: list[np.ndarray], settings: PlanSettings) -> bench.Scores:
    """The benchmark's scores of the planner with ``settings`` on one set's cached analyses."""
    index = [np.full(1, i) for i in range(len(analyses))]
    return bench.score("x", planned(analyses, settings), index, labels)


def pair_parser(description: str) -> argparse.ArgumentParser:
    """The command line the scoring harnesses share: ``--pair DETECTOR:EPISODES`` (repeatable) and ``--out``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pair", action="append", required=True, help="DETECTOR:EPISODES (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the scores")
    return parser


def score_fields(scores: bench.Scores) -> dict[str, Any]:
    """The benchmark's measures of one scored set, unrounded, for a harness's JSON rows."""
    return {"precision": scores.precision, "recall": scores.recall, "recall_by_class": scores.recall_by_class,
            "speech_removed": scores.speech_removed, "short_pauses_removed": scores.short_pauses_removed}


def score_summary(scores: bench.Scores) -> str:
    """The same measures on one line, as the harnesses print them."""
    return (f"P {scores.precision:.4f} R {scores.recall:.4f} "
            + " ".join(f"{name} {value:.4f}" for name, value in scores.recall_by_class.items())
            + f" speech cut {100 * scores.speech_removed:.3f}% short-pause cut "
            f"{100 * scores.short_pauses_removed:.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description="choose the breath-event rules on tuning and check episodes")
    parser.add_argument("--pair", action="append", default=None, help="DETECTOR:EPISODES (repeatable)")
    parser.add_argument("--rule-grid", action="store_true",
                        help="vary the audible-sound rule's level, reverberation and probability instead")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pairs = args.pair or list(DEFAULT_PAIRS)
    loaded = []
    for pair in pairs:
        loaded.append(analyses_of(*split_pair(pair)))
        print(f"[{len(loaded)}] {pair}", flush=True)
    if args.rule_grid:
        settings = bench.bench_settings()
        for above_db, tail_ms, prob in RULE_GRID:
            planner.AUDIBLE_ABOVE_FLOOR_DB = above_db  # module constants: read by the planner at call time
            planner.REVERB_TAIL_MS = tail_ms
            planner.AUDIBLE_EVENT_PROB = prob
            print(f"above floor {above_db:g} dB, tail {tail_ms:g} ms, event prob {prob:g}: "
                  + _cells(loaded, settings), flush=True)
        return
    for guard, grow, min_breath_ms, audible in itertools.product(GUARDS, GROW_PROBS, MIN_BREATH_MS, AUDIBLE_PROBS):
        planner.EVENT_GUARD_FRAMES = guard
        planner.BREATH_GROW_PROB = grow
        planner.AUDIBLE_EVENT_PROB = audible
        settings = dataclasses.replace(bench.bench_settings(), min_breath_ms=min_breath_ms)
        print(f"guard {guard} grow {grow} min breath {min_breath_ms:g} audible {audible}: "
              + _cells(loaded, settings), flush=True)


def _cells(loaded: list[tuple[list[TrackAnalysis], list[np.ndarray]]], settings: PlanSettings) -> str:
    cells = []
    for analyses, labels in loaded:
        r = score_set(analyses, labels, settings)
        cells.append(f"P {r.precision:.4f} R {r.recall:.4f} B {r.recall_by_class['breath']:.4f} "
                     f"sp {100 * r.speech_removed:.3f}% sh {100 * r.short_pauses_removed:.2f}%")
    return " | ".join(cells)


if __name__ == "__main__":
    main()
