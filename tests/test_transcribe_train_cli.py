"""`reamend train transcribe` hands its options to the training loop, and its bfloat16 forward pass
trains like float32 (the loop itself is not run here: one step needs the rendered shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _captured_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *extra: str) -> Any:
    import models.transcribe.train as train_module
    from daemon.cli import main

    seen: list[Any] = []

    def fake_train(config: Any) -> dict[str, Any]:
        seen.append(config)
        return {"step": 0}

    monkeypatch.setattr(train_module, "train", fake_train)
    assert main(["train", "transcribe", "--cache-dir", str(tmp_path / "cache"), "--checkpoint",
                 str(tmp_path / "state.pt"), "--weights-out", str(tmp_path / "w.pt"), *extra]) == 0
    assert len(seen) == 1
    return seen[0]


def test_threads_and_bf16_reach_the_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    default = _captured_config(monkeypatch, tmp_path)
    assert default.threads == 1 and not default.bf16
    config = _captured_config(monkeypatch, tmp_path, "--threads", "2", "--bf16", "--channels", "16", "28", "28",
                              "--max-steps", "20000")
    assert config.threads == 2 and config.bf16 and config.channels == (16, 28, 28) and config.max_steps == 20000
    assert not (tmp_path / "state.pt").exists()  # nothing trained, nothing written


def test_bf16_forward_gives_float32_heads_and_the_float32_gradient() -> None:
    import numpy as np
    import torch

    from models.transcribe.labels import make_targets
    from models.transcribe.network import HarmonicOnsetsFrames
    from models.transcribe.train import _as_float32, _loss

    torch.manual_seed(0)
    model = HarmonicOnsetsFrames(channels=(4, 8, 8), dilations=(1, 2), frame_dilations=(1,), dropout=0.0,
                                 input_channels=2)
    features = torch.randn(2, 64, 2, 220)
    notes = np.array([[60, 0.2, 0.8, 80], [64, 0.5, 1.0, 60]], dtype=float)
    target = make_targets(notes, start_frame=0, n_frames=64)
    targets = {k: torch.from_numpy(np.stack([getattr(target, k)] * 2))
               for k in ("onset", "offset", "frame", "velocity")}
    gradients = []
    for bf16 in (False, True):
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outputs = model(features)
        heads = _as_float32(outputs)
        assert heads.onset.dtype == torch.float32 and heads.velocity.dtype == torch.float32
        loss, _ = _loss(heads, targets)
        loss.backward()
        gradients.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert torch.nn.functional.cosine_similarity(gradients[0], gradients[1], dim=0) > 0.99


def test_ensemble_of_the_committed_members_reproduces_the_shipped_network(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's reproduction command, through the CLI: same tensors as the shipped file (the bytes
    differ, since torch writes the temporary file's name into the archive)."""
    import json

    import torch

    from daemon.cli import main
    from models.registry import MANIFEST_PATH, WEIGHTS_DIR, load_checkpoint_file

    shipped = json.loads(MANIFEST_PATH.read_text())["transcribe-piano"]
    members = [Path(__file__).resolve().parents[1] / "training" / "transcribe" / member["file"]
               for member in shipped["members"]]
    out = tmp_path / "weights" / "transcribe-piano.pt"
    out.parent.mkdir()
    capsys.readouterr()
    assert main(["--json", "train", "transcribe", "--ensemble-of", *map(str, members),
                 "--weights-out", str(out)]) == 0
    reported = json.loads(capsys.readouterr().out)
    written = json.loads((out.parent / "manifest.json").read_text())["transcribe-piano"]
    assert reported["sha256"] == written["sha256"]
    assert [m["sha256"] for m in written["members"]] == [m["sha256"] for m in shipped["members"]]
    joined = load_checkpoint_file(out)["state_dict"]
    original = load_checkpoint_file(WEIGHTS_DIR / shipped["file"], expected_sha256=shipped["sha256"])["state_dict"]
    assert joined.keys() == original.keys()
    for name, tensor in original.items():
        assert torch.equal(joined[name], tensor), name
