"""Breath material for training: domain-randomised breaths, whisper tracts, leave-one-source-out
configuration (no TTS, soundfont or training needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.clean import sounds
from models.clean.episodes import _breath
from models.clean.labels import ANALYSIS_SR
from models.clean.sources import (
    RANDOM_BREATH_SHARE,
    WHISPER_KEY,
    Material,
    Pool,
    _whisper_variant,
    load_material,
    train_breath_keys,
)
from models.clean.training import SHARD_VERSION, TrainConfig


def _centroid_hz(clip: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(clip)) ** 2
    return float(np.sum(np.fft.rfftfreq(clip.shape[0], 1 / ANALYSIS_SR) * spectrum) / np.sum(spectrum))


def test_random_breaths_span_many_timbres() -> None:
    rng = np.random.default_rng(21)
    clips = [sounds.synth_random_breath(rng) for _ in range(24)]
    for clip in clips:
        assert 0.12 * ANALYSIS_SR <= clip.shape[0] <= 1.0 * ANALYSIS_SR
        assert clip.dtype == np.float32 and np.all(np.isfinite(clip)) and sounds.rms(clip) > 0
        assert np.max(np.abs(clip[:8])) < np.max(np.abs(clip))  # an envelope, not a switched-on noise
    centroids = np.log2([_centroid_hz(clip) for clip in clips])
    # Domain randomisation: spectral centres spread over more than two octaves.
    assert centroids.max() - centroids.min() > 2.0


def test_whisper_variants_are_unvoiced_random_tracts() -> None:
    rng = np.random.default_rng(3)
    first, second = _whisper_variant(rng, "a"), _whisper_variant(rng, "b")
    assert "voicing 0" in first and first.startswith("name a\n")
    assert sum(line.startswith("formant ") for line in first.splitlines()) == 6
    assert first.replace("name a", "") != second.replace("name b", "")


def test_leave_one_source_out_config_names_its_shards(tmp_path: Path) -> None:
    assert WHISPER_KEY in train_breath_keys() and "fluidr3_gm-121" in train_breath_keys()
    full = TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "c.pt")
    loso = TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "c.pt", without_breaths=("fluidr3_gm-121",),
                       random_breath_share=0.0)
    assert full.recipe_tag == f"{SHARD_VERSION}-morevoices-floorlabels"
    assert full.random_breath_share == RANDOM_BREATH_SHARE
    assert loso.recipe_tag == f"{SHARD_VERSION}-no-fluidr3_gm-121-rand0-morevoices-floorlabels"
    with pytest.raises(ValueError, match="unknown breath sources"):
        load_material(tmp_path, "train", without_breaths=("timgm6mb-121",))


def test_check_episodes_take_every_breath_from_the_checked_source() -> None:
    voice = Pool.from_clips([np.ones(ANALYSIS_SR, dtype=np.float32)])
    constant = Pool.from_clips([np.full(ANALYSIS_SR // 2, 0.5, dtype=np.float32)])  # survives resampling as is

    def draws(share: float) -> list[np.ndarray]:
        material = Material(voices={"a": voice}, breaths=(constant,), recorded_breath_share=share)
        rng = np.random.default_rng(5)
        return [_breath(material, rng) for _ in range(12)]

    assert all(np.std(clip) < 1e-3 * np.mean(clip) for clip in draws(1.0))
    assert not any(np.std(clip) < 1e-3 * abs(np.mean(clip)) for clip in draws(0.0))


def test_concurrent_runs_render_the_same_shard_without_colliding(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two training runs sharing a cache render the same deterministic shard side by side; each
    writes through its own temporary file, so neither finds its file renamed away by the other."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from models.clean.training import render_shard

    both_written = threading.Barrier(2, timeout=30)
    savez = np.savez

    def savez_then_wait(*args: object, **kwargs: object) -> None:
        savez(*args, **kwargs)  # type: ignore[arg-type]
        both_written.wait()  # both runs have written before either renames: the racy moment

    monkeypatch.setattr(np, "savez", savez_then_wait)
    speech = Pool.from_clips([0.1 * np.sin(np.arange(ANALYSIS_SR) * 0.05).astype(np.float32)] * 2)
    breath = Pool.from_clips([0.01 * np.ones(ANALYSIS_SR // 4, dtype=np.float32)])
    material = Material(voices={"a": speech, "b": speech}, breaths=(breath,))
    path = tmp_path / "train-v5-000-2s.npz"
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(render_shard, material, path, episodes=2, episode_s=2.0, seed=3) for _ in range(2)]
        for run in runs:
            run.result()
    with np.load(path) as data:
        assert data["features"].shape[0] == 2 and data["labels"].shape[0] == 2
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
