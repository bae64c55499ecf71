"""Benchmark scoring on hand-made labels and a fixed system output (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.clean import bench
from models.clean.labels import BREATH, PAUSE, SPEECH


def test_scores_attribute_missed_frames_to_their_class() -> None:
    labels = np.full(400, SPEECH, dtype=np.int8)
    labels[100:200] = PAUSE  # a 1 s pause: remove class
    labels[250:280] = BREATH  # a 0.3 s breath between words
    removable = np.zeros(400, dtype=bool)
    removable[100:200] = True  # the pause is found, the breath is missed

    def system(audio: np.ndarray) -> bench.SystemOutput:
        return bench.SystemOutput(removable=removable, cut=np.zeros(400, dtype=bool))

    scores = bench.score("fixed", system, [np.zeros(400 * 160, dtype=np.float32)], [labels])
    assert scores.precision == 1.0
    assert scores.recall_by_class["long pause"] == 1.0 and scores.recall_by_class["breath"] == 0.0
    assert scores.missed_share_by_class["breath"] == 1.0 and scores.missed_share_by_class["long pause"] == 0.0
    assert 0.0 < scores.recall < 1.0 and scores.speech_removed == 0.0
    # The counts behind the figures, kept so that runs over several held-out draws can be pooled.
    # Frames in the collar at each speech boundary are not scored, hence fewer than 100 and 30.
    ((found, called, true),) = scores.episode_counts
    pause_found, pause_all = scores.class_counts["long pause"]
    breath_found, breath_all = scores.class_counts["breath"]
    assert found == called == pause_found == pause_all and 90 <= pause_all < 100
    assert breath_found == 0 and 20 <= breath_all < 30 and true == pause_all + breath_all


def test_precision_and_recall_come_with_intervals_over_episodes() -> None:
    labels = np.full(400, SPEECH, dtype=np.int8)
    labels[100:200] = PAUSE
    labels[250:280] = BREATH
    outputs = iter([np.arange(400) < 0, (np.arange(400) >= 100) & (np.arange(400) < 200)])
    episodes = 2

    def system(audio: np.ndarray) -> bench.SystemOutput:
        return bench.SystemOutput(removable=next(outputs), cut=np.zeros(400, dtype=bool))

    # One episode finds nothing, the other finds the pause: a resample of two episodes can hold
    # either twice, so recall ranges from none to the pause's share of the remove class.
    scores = bench.score("mixed", system, [np.zeros(400 * 160, dtype=np.float32)] * episodes, [labels] * episodes)
    low, high = scores.recall_interval
    assert low == 0.0 < scores.recall < high
    assert scores.precision_interval == (1.0, 1.0)  # every removable frame is right, in any resample


def test_a_further_held_out_draw_is_its_own_set_and_leaves_the_first_alone(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from models.clean import training

    rendered: list[tuple[Path, int, int]] = []

    def fake_render(material: object, path: Path, *, episodes: int, episode_s: float, seed: int) -> Path:
        rendered.append((path, episodes, seed))
        path.write_bytes(b"episodes")
        return path

    monkeypatch.setattr(training, "_render_episode_set", fake_render)
    monkeypatch.setattr(training, "load_material", lambda *args, **kwargs: object())
    config = training.TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "last.pt")
    first = tmp_path / "val-episodes.npz"
    first.write_bytes(b"the original 60")

    assert training.ensure_validation_set(config) == first and not rendered  # cached draw 1: not re-rendered
    second = training.ensure_validation_set(config, draw=2, episodes=240)
    assert rendered == [(tmp_path / "val-episodes-draw2-240.npz", 240, config.seed + 99 + 1000)]
    assert second != first and first.read_bytes() == b"the original 60"
    assert training.validation_seed(config.seed, 1) == config.seed + 99  # the original benchmark's seed
    with pytest.raises(ValueError, match="draw"):
        training.ensure_validation_set(config, draw=0)


def test_bench_chooses_one_episode_set_and_refuses_contradictions(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from daemon.commands import _bench_clean
    from models.clean import training
    from models.errors import UserInputError

    monkeypatch.setattr(training, "ensure_unseen_voice_set", lambda config: config.cache_dir / "unseen.npz")
    monkeypatch.setattr(training, "ensure_tuning_set", lambda config: config.cache_dir / "tuning.npz")

    def args(**given: object) -> argparse.Namespace:
        defaults: dict[str, object] = {"cache_dir": tmp_path, "episodes": 60, "draw": 1, "tuning_set": False,
                                       "unseen_voices": False}
        return argparse.Namespace(**{**defaults, **given})

    assert _bench_clean._episode_set(args(unseen_voices=True)) == (tmp_path / "unseen.npz", "unheard-voice")
    assert _bench_clean._episode_set(args(tuning_set=True)) == (tmp_path / "tuning.npz", "tuning")
    for wrong, message in ((args(tuning_set=True, unseen_voices=True), "choose one"),
                           (args(unseen_voices=True, draw=2), "check sets"), (args(draw=0), "1 or more")):
        with pytest.raises(UserInputError, match=message):
            _bench_clean._episode_set(wrong)
