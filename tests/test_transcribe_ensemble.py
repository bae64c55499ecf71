"""The two-network ensemble (probabilities averaged, one weight file) and bfloat16 inference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.registry import build_model, load_checkpoint_file, native_bfloat16, save_checkpoint
from models.transcribe.features import SAMPLE_RATE
from models.transcribe.network import ARCH, ENSEMBLE_ARCH, HarmonicOnsetsFrames, OnsetsFramesEnsemble
from models.transcribe.transcriber import predict

TINY = {"channels": [2, 4, 4], "dilations": [1, 2], "frame_dilations": [1], "dropout": 0.0, "input_channels": 2}


def _member(seed: int, **changes: object) -> HarmonicOnsetsFrames:
    torch.manual_seed(seed)
    return HarmonicOnsetsFrames(**{**TINY, **changes}).eval()  # type: ignore[arg-type]


def test_heads_are_the_members_mean_probability() -> None:
    members = [_member(1), _member(2, dilations=[1, 2, 4])]
    ensemble = OnsetsFramesEnsemble(members=[TINY, {**TINY, "dilations": [1, 2, 4]}]).eval()
    for index, member in enumerate(members):
        ensemble.members[index].load_state_dict(member.state_dict())
    features = torch.randn(1, 30, 2, 220)
    with torch.inference_mode():
        outs = [member(features) for member in members]
        joint = ensemble(features)
    for head in ("onset", "offset", "frame"):
        mean = (torch.sigmoid(getattr(outs[0], head)) + torch.sigmoid(getattr(outs[1], head))) / 2
        torch.testing.assert_close(torch.sigmoid(getattr(joint, head)), mean, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(joint.velocity, (outs[0].velocity + outs[1].velocity) / 2)
    assert ensemble.receptive_frames == max(m.receptive_frames for m in members) > members[0].receptive_frames
    assert ensemble.input_channels == 2


def test_members_must_read_the_same_planes() -> None:
    with pytest.raises(ValueError, match="different input planes"):
        OnsetsFramesEnsemble(members=[TINY, {**TINY, "input_channels": 1}])


def test_join_writes_one_loadable_file_and_its_manifest_entry(tmp_path: Path) -> None:
    from models.transcribe.train import join_ensemble

    paths = []
    for seed in (1, 2):
        path = tmp_path / f"member{seed}.pt"
        save_checkpoint(path, ARCH, TINY, _member(seed).state_dict(), step=seed * 100)
        paths.append(path)
    out = tmp_path / "weights" / "transcribe-piano.pt"
    out.parent.mkdir()
    result = join_ensemble(paths, out)
    model = build_model(load_checkpoint_file(out))
    assert isinstance(model, OnsetsFramesEnsemble) and len(model.members) == 2
    torch.testing.assert_close(model.members[1].state_dict()["onset_head.weight"],
                               _member(2).state_dict()["onset_head.weight"])
    entry = json.loads((out.parent / "manifest.json").read_text())["transcribe-piano"]
    assert entry["arch"] == ENSEMBLE_ARCH and entry["sha256"] == result["sha256"]
    assert [m["step"] for m in entry["members"]] == [100, 200]
    with pytest.raises(ValueError, match="only single networks"):
        join_ensemble([out], tmp_path / "nested.pt")


def test_bfloat16_inference_gives_the_float32_posteriors() -> None:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal(SAMPLE_RATE * 3)).astype(np.float32)
    model = OnsetsFramesEnsemble(members=[TINY, TINY]).eval()
    exact = predict(model, audio, bfloat16=False)
    fast = predict(model, audio, bfloat16=True)
    assert fast.onset.dtype == np.float32 and fast.onset.shape == exact.onset.shape
    for head in ("onset", "offset", "frame", "velocity"):
        np.testing.assert_allclose(getattr(fast, head), getattr(exact, head), atol=0.03)
    assert isinstance(native_bfloat16(), bool)


@pytest.mark.parametrize("native", [False, True])
def test_the_default_precision_follows_the_cpu(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                native: bool) -> None:
    """Without native bfloat16 (emulated, slower) the network stays float32, and doctor says what that costs."""
    import models.registry
    import models.transcribe.transcriber as transcriber
    from daemon.cli import main

    monkeypatch.setattr(transcriber, "native_bfloat16", lambda: native)
    monkeypatch.setattr(models.registry, "native_bfloat16", lambda: native)
    audio = (0.1 * np.random.default_rng(1).standard_normal(SAMPLE_RATE * 2)).astype(np.float32)
    model = OnsetsFramesEnsemble(members=[TINY, TINY]).eval()
    chosen = predict(model, audio)
    explicit = predict(model, audio, bfloat16=native)
    for head in ("onset", "offset", "frame", "velocity"):
        np.testing.assert_array_equal(getattr(chosen, head), getattr(explicit, head))
    main(["--json", "doctor"])
    check = {c["check"]: c for c in json.loads(capsys.readouterr().out)["checks"]}["bfloat16"]
    assert check["status"] == ("ok" if native else "warn")
    assert ("float32" in check["detail"]) is not native
