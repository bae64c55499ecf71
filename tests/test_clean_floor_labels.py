"""Floor-relative labels of the shipped v6 recipe's added voices (``reamend train clean``): a voice
synthesised over a noise floor gets its phrase pauses and its clip ends labelled as a voice over
digital silence does, and nothing else's labels change; the command line's recipes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from daemon.cli import main
from models.clean import sources, training
from models.clean.episodes import SILENCE_PAUSE_DB, SILENCE_TRIM_DB, internal_pauses, label_depths, trimmed_utterance
from models.clean.labels import ANALYSIS_SR
from models.clean.sources import MORE_TRAIN_VOICES, Pool
from models.clean.training import SHARD_VERSION, TrainConfig

SR = ANALYSIS_SR


def phrase_pair(floor_db: float, rng: np.random.Generator) -> np.ndarray:
    """Floor, a 0.6 s 'phrase', 0.3 s of floor, another phrase, floor: a TTS clip with a pause."""
    def floor(seconds: float) -> np.ndarray:
        return rng.normal(0.0, 10 ** (floor_db / 20), int(seconds * SR))

    t = np.arange(int(0.6 * SR)) / SR
    phrase = 0.5 * np.sin(2 * np.pi * 180 * t) * np.hanning(t.shape[0]) ** 0.2
    return np.concatenate([floor(0.2), phrase + floor(0.6), floor(0.3), phrase + floor(0.6), floor(0.2)])


def test_a_pause_on_a_noise_floor_is_found_only_with_floor_labels() -> None:
    clip = phrase_pair(-48.0, np.random.default_rng(0)).astype(np.float32)
    plain, plain_db = trimmed_utterance(clip)
    assert (plain_db, internal_pauses(plain, depth_db=plain_db)) == (SILENCE_PAUSE_DB, [])
    # The clip's floor is kept as "speech" at both ends by the 50 dB trim.
    assert plain.shape[0] > 1.6 * SR
    relative, relative_db = trimmed_utterance(clip, floor_relative=True)
    pauses = internal_pauses(relative, depth_db=relative_db)
    assert len(pauses) == 1 and 0.2 * SR < pauses[0][1] - pauses[0][0] <= 0.3 * SR
    assert relative.shape[0] < 1.55 * SR  # the floor at the clip's ends is trimmed


def test_digital_silence_keeps_the_usual_depths() -> None:
    clip = phrase_pair(-140.0, np.random.default_rng(1))
    assert label_depths(clip, floor_relative=True) == (SILENCE_TRIM_DB, SILENCE_PAUSE_DB)
    # A very noisy voice is never labelled closer than 35 dB to its loudest frame.
    noisy = phrase_pair(-20.0, np.random.default_rng(2))
    assert label_depths(noisy, floor_relative=True) == (35.0, 35.0)


def test_floor_labels_apply_to_the_more_voices_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "cached_pool",
                        lambda cache_dir, name, build: Pool.from_clips([np.zeros(SR, dtype=np.float32)]))
    monkeypatch.setattr(sources, "_train_breath_pools", lambda cache_dir, keys: [])
    config = TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "c.pt")
    assert config.recipe_tag == f"{SHARD_VERSION}-morevoices-floorlabels"
    assert config.training_material().floor_labelled == {voice.name for voice in MORE_TRAIN_VOICES}
    assert sources.load_material(tmp_path, "train", more_voices=True).floor_labelled == frozenset()
    with pytest.raises(ValueError, match="more_voices"):
        TrainConfig(cache_dir=tmp_path, checkpoint=tmp_path / "c.pt", more_voices=False)


def test_the_command_line_trains_the_shipped_recipe_by_default(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    trained: list[TrainConfig] = []
    monkeypatch.setattr(training, "train", lambda config, progress: trained.append(config))
    common = ["train", "clean", "--no-export", "--cache-dir", str(tmp_path), "--checkpoint", str(tmp_path / "c.pt")]
    assert main(common) == 0
    assert main([*common, "--recipe", "v5", "--more-voices", "--steps", "100"]) == 0
    assert main([*common, "--neural-voices", "--train-seed", "7"]) == 0
    first, second, candidate, neural = trained
    assert neural.neural_voices and not first.neural_voices and neural.train_seed == 7
    for shipped in (first, second):  # v6 ships the ensemble of two seeds, each in its own checkpoint
        assert (shipped.more_voices, shipped.floor_labels, shipped.shards, shipped.steps) == (True, True, 22, 3500)
    assert (first.train_seed, first.checkpoint, second.train_seed, second.checkpoint) == (
        1234, tmp_path / "c.pt", 7, tmp_path / "c-s7.pt")
    assert (candidate.more_voices, candidate.floor_labels, candidate.shards, candidate.steps) == (True, False, 16, 100)
    assert candidate.checkpoint == tmp_path / "c.pt"
    # The v5 candidates' flags on the shipped recipe are refused, not silently ignored.
    assert main([*common, "--more-voices"]) == 2


def test_a_finished_run_of_other_data_is_not_taken_for_this_recipe(tmp_path: Path) -> None:
    import torch

    checkpoint = tmp_path / "last.pt"
    v6 = TrainConfig(cache_dir=tmp_path, checkpoint=checkpoint)
    torch.save({"step": 3500, "train_config": {k: str(v) for k, v in dataclasses.asdict(v6).items()}}, checkpoint)
    v5 = TrainConfig(cache_dir=tmp_path, checkpoint=checkpoint, **training.RECIPES["v5"])
    with pytest.raises(ValueError, match="finished run"):
        training.train(v5, progress=lambda message: None)
    # The v5 checkpoint before v6 saved no voice fields: it reads as v5 data, not as v6's.
    torch.save({"step": 4000, "train_config": {"without_breaths": "()", "random_breath_share": "0.35"}}, checkpoint)
    with pytest.raises(ValueError, match="finished run"):
        training.train(v6, progress=lambda message: None)


def test_speed_perturbation_moves_pitch_and_tempo_together() -> None:
    from models.clean.sounds import change_speed

    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 200 * t).astype(np.float32)
    faster = change_speed(tone, 1.1)
    assert abs(faster.shape[0] - SR / 1.1) <= 2
    spectrum = np.abs(np.fft.rfft(faster * np.hanning(faster.shape[0])))
    peak_hz = np.argmax(spectrum) * SR / faster.shape[0]
    assert abs(peak_hz - 220) < 3
    config = TrainConfig(cache_dir=Path("unused"), checkpoint=Path("unused.pt"), speed_perturb=True)
    assert config.recipe_tag == f"{SHARD_VERSION}-morevoices-floorlabels-speed"


def test_exporting_a_missing_member_checkpoint_is_a_clear_error(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.pt").write_bytes(b"")  # the first member exists, the seed-7 one does not
    assert main(["train", "clean", "--export-only", "--checkpoint", str(tmp_path / "c.pt")]) == 2
    error = capsys.readouterr().err
    assert "nothing to export" in error and str(tmp_path / "c-s7.pt") in error
