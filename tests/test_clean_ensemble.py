"""The two-detector ensemble used by the leave-one-source-out checks, and the second member's seed."""

from __future__ import annotations

from pathlib import Path

import torch

from models.clean.features import FEATURE_DIM
from models.clean.network import ARCH, ENSEMBLE_ARCH, FrameNet
from models.clean.training import TrainConfig, ensemble_payload
from models.registry import build_model, save_checkpoint

_TINY = {"feature_dim": FEATURE_DIM, "channels": 8, "hidden": 4, "num_classes": 6}


def test_ensemble_softmax_is_the_mean_of_its_members(tmp_path: Path) -> None:
    members = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        model = FrameNet(**_TINY).eval()
        path = tmp_path / f"m{seed}.pt"
        save_checkpoint(path, ARCH, _TINY, model.state_dict(), step=seed)
        members.append((model, path))
    payload = ensemble_payload([path for _, path in members])
    assert payload["arch"] == ENSEMBLE_ARCH and payload["config"]["members"] == 2 and payload["step"] == [1, 2]
    ensemble = build_model(payload)
    features = torch.randn(2, 40, FEATURE_DIM)  # (batch, frames, FEATURE_DIM)
    with torch.inference_mode():
        expected = torch.stack([torch.softmax(model(features), dim=-1) for model, _ in members]).mean(dim=0)
        got = torch.softmax(ensemble(features), dim=-1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_second_member_seed_keeps_the_shards_and_names_its_run(tmp_path: Path) -> None:
    first = TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "a.pt")
    second = TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "b.pt", train_seed=7)
    assert second.recipe_tag == first.recipe_tag  # same rendered shards
    assert second.run_tag == f"{first.run_tag}-seed7" and second.init_seed == 7 and first.init_seed == first.seed
