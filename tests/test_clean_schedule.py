"""Warm restarts of the detector's one-cycle learning rate (``TrainConfig.cycle_steps``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from models.clean.features import FEATURE_DIM
from models.clean.training import TrainConfig, train, tuning_set_path

_TINY = {"channels": 8, "hidden": 4}


def _cache(tmp_path: Path) -> Path:
    """Two tiny shards and tuning episodes, so :func:`train` renders nothing."""
    cache = tmp_path / "cache"
    config = TrainConfig(cache_dir=cache, checkpoint=tmp_path / "unused.pt")
    (cache / "shards").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(2):
        features = rng.normal(size=(3, 40, FEATURE_DIM)).astype(np.float16)  # (episodes, frames, FEATURE_DIM)
        labels = rng.integers(0, 6, size=(3, 40)).astype(np.int8)
        np.savez(cache / "shards" / f"train-{config.recipe_tag}-{index:03d}-{config.episode_s:g}s.npz",
                 features=features, labels=labels)
    audio = (0.01 * rng.normal(size=(2, 8000))).astype(np.float32)  # (episodes, samples) at 16 kHz
    np.savez(tuning_set_path(cache), audio=audio, labels=np.zeros((2, 50), dtype=np.int8))
    return cache


def _config(cache: Path, checkpoint: Path, *, steps: int, cycle_steps: int | None) -> TrainConfig:
    return TrainConfig(cache_dir=cache, checkpoint=checkpoint, shards=2, steps=steps, cycle_steps=cycle_steps,
                       batch=2, crop_frames=20, model_config=_TINY)


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_one_cycle_of_all_steps_is_the_default(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    default = train(_config(cache, tmp_path / "a.pt", steps=4, cycle_steps=None))
    explicit = train(_config(cache, tmp_path / "b.pt", steps=4, cycle_steps=4))
    assert _same_weights(default["state_dict"], explicit["state_dict"])
    assert default["scheduler"]["total_steps"] == 4


def test_resuming_a_finished_cycle_equals_an_unbroken_two_cycle_run(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    unbroken = train(_config(cache, tmp_path / "unbroken.pt", steps=6, cycle_steps=3))
    first = train(_config(cache, tmp_path / "first.pt", steps=3, cycle_steps=None))
    shutil.copy(tmp_path / "first.pt", tmp_path / "resumed.pt")
    resumed = train(_config(cache, tmp_path / "resumed.pt", steps=6, cycle_steps=3))
    assert resumed["step"] == unbroken["step"] == 6
    assert _same_weights(resumed["state_dict"], unbroken["state_dict"])
    assert not _same_weights(resumed["state_dict"], first["state_dict"])
    # The second cycle restarted the schedule: it ran 3 of its own 3 steps, ending at the floor again.
    assert resumed["scheduler"]["total_steps"] == 3 and resumed["scheduler"]["last_epoch"] == 3
    assert resumed["scheduler"]["_last_lr"] == pytest.approx(first["scheduler"]["_last_lr"])


def test_cycles_must_divide_the_steps_and_match_a_resumed_schedule(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole number of cycles"):
        TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "x.pt", steps=5000, cycle_steps=2000)
    cache = _cache(tmp_path)
    config = _config(cache, tmp_path / "mid.pt", steps=4, cycle_steps=2)
    train(_config(cache, tmp_path / "mid.pt", steps=3, cycle_steps=None))  # saved inside a 3-step cycle
    with pytest.raises(ValueError, match="inside a cycle of 3 steps"):
        train(config)


def test_cli_refuses_a_cycle_that_does_not_divide_the_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    checkpoint = tmp_path / "candidate.pt"
    assert main(["train", "clean", "--cache-dir", str(tmp_path / "cache"), "--checkpoint", str(checkpoint),
                 "--steps", "5", "--cycle-steps", "2", "--no-export"]) == 2
    assert "whole number of cycles" in capsys.readouterr().err
    assert not checkpoint.exists() and not (tmp_path / "cache").exists()
