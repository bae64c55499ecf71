"""The clean detector's network size as a training option (``reamend train clean --channels --hidden``):
it reaches the trained network, and a checkpoint of one size is never resumed as another."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli import main
from models.clean import training
from models.clean.features import FEATURE_DIM
from models.clean.labels import NUM_CLASSES
from models.clean.network import ARCH, FrameNet
from models.clean.training import TrainConfig
from models.registry import build_model, save_checkpoint


def test_the_command_line_passes_the_network_size_to_every_seed(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    trained: list[TrainConfig] = []
    monkeypatch.setattr(training, "train", lambda config, progress: trained.append(config))
    common = ["train", "clean", "--no-export", "--cache-dir", str(tmp_path), "--checkpoint", str(tmp_path / "c.pt")]
    assert main([*common, "--channels", "160", "--hidden", "128"]) == 0
    assert main(common) == 0
    wide_first, wide_second, default, _ = trained
    assert wide_first.model_config == wide_second.model_config == {"channels": 160, "hidden": 128}
    assert default.model_config == {}  # the shipped size (96 channels, GRU of 64)


def test_a_checkpoint_of_another_size_is_refused_before_any_data_is_rendered(tmp_path: Path) -> None:
    checkpoint = tmp_path / "wide.pt"
    config = {"feature_dim": FEATURE_DIM, "channels": 32, "hidden": 16, "num_classes": NUM_CLASSES}
    save_checkpoint(checkpoint, ARCH, config, FrameNet(**config).state_dict(), step=10, train_config={})
    shipped_size = TrainConfig(cache_dir=tmp_path / "cache", checkpoint=checkpoint)
    with pytest.raises(ValueError, match="another size"):
        training.train(shipped_size, progress=lambda message: None)
    assert not (tmp_path / "cache").exists()
    # The saved size rebuilds from the checkpoint alone (what export and the ensemble read).
    model = build_model({"arch": ARCH, "config": config, "state_dict": FrameNet(**config).state_dict()})
    assert model.gru.hidden_size == 16
