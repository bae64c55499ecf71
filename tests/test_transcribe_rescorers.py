"""The learned decoding rescorers: ghost and re-strike features, the exported tree ensembles, decoding with
them, fitting rows, loading them only for their own network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.registry import build_model, load_checkpoint_file, save_checkpoint, sha256_of, update_manifest
from models.transcribe.decode import DecodeSettings, Posteriors, Rescorers, decode, onset_peaks
from models.transcribe.ends import FEATURES as END_FEATURES
from models.transcribe.ends import NoteContext, end_candidates, end_features
from models.transcribe.ghosts import CHORD_PEAK_FLOOR, FEATURES, ghost_features, ghost_level
from models.transcribe.rescorer_fit import RescorerFitConfig, end_rows, fresh_posteriors, ghost_rows, restrike_rows
from models.transcribe.rescorers import GHOST_NAME, RESTRIKE_NAME, shipped_rescorers, stale_rescorers
from models.transcribe.restrikes import FEATURES as RESTRIKE_FEATURES
from models.transcribe.restrikes import restrike_features, restrike_levels
from models.transcribe.trees import ARCH, BoostedTrees, export_classifier, fit_classifier

C3, C4, G4 = 48 - 21, 60 - 21, 67 - 21


def _posteriors(frames: int = 200) -> Posteriors:
    zeros = np.zeros((frames, 88), np.float32)
    return Posteriors(onset=zeros.copy(), offset=zeros.copy(), frame=zeros.copy(), velocity=zeros.copy())


def _note(post: Posteriors, key: int, start: int, stop: int, *, onset: float = 0.95) -> None:
    post.onset[start, key] = onset
    post.onset[start - 1, key] = onset / 3
    post.onset[start + 1, key] = onset / 3
    post.frame[start:stop, key] = 0.9
    post.velocity[start:start + 2, key] = 0.5


def _candidates(post: Posteriors, threshold: float = 0.4) -> list[tuple[int, int, float]]:
    return [(t, k, float(post.onset[t, k])) for t, k in onset_peaks(post.onset, threshold)]


def _fitted_ensemble(seed: int = 0) -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.uniform(0, 1, (400, len(FEATURES)))
    labels = rows[:, 4] + 0.3 * rows[:, 8] + rng.normal(0, 0.1, 400) > 0.7
    return fit_classifier(rows, labels, n_estimators=40, max_depth=3), rows


def test_the_recording_ghost_level_is_how_loudly_confident_notes_light_the_octave_above() -> None:
    post = _posteriors()
    for start in (20, 60, 100):
        _note(post, C3, start, start + 30)
        post.onset[start + 1, C3 + 12] = 0.3 * 0.95  # each confident C3 lights C4 at 0.3 of its strength
    median, upper = ghost_level(post.onset, onset_peaks(post.onset, CHORD_PEAK_FLOOR))
    assert median == pytest.approx(0.3, abs=1e-6) and upper == pytest.approx(0.3, abs=1e-6)
    assert ghost_level(_posteriors().onset, []) == (0.0, 0.0)


def test_only_onsets_under_a_stronger_partner_a_partial_interval_below_are_candidates() -> None:
    post = _posteriors()
    _note(post, C3, 50, 120)
    _note(post, C4, 51, 120, onset=0.6)  # an octave above, one frame later, weaker: a candidate
    _note(post, C3 + 17, 50, 120, onset=0.5)  # 17 semitones above C3: not a partner interval
    candidates = _candidates(post)
    indices, rows = ghost_features(post, candidates, onset_peaks(post.onset, CHORD_PEAK_FLOOR))
    assert [candidates[i][1] for i in indices] == [C4]
    row = dict(zip(FEATURES, rows[0], strict=True))
    assert row["interval"] == 12 and row["key"] == C4
    assert row["ratio"] == pytest.approx(0.6 / 0.95, abs=1e-6)
    assert row["frames_after_partner"] == 1 and row["chord_size"] == 3
    assert row["hold"] == pytest.approx(0.9, abs=1e-6) and row["hold_before"] == 0.0


def test_the_exported_trees_compute_the_classifiers_decision_function_and_load_from_a_checkpoint(
        tmp_path: Path) -> None:
    classifier, rows = _fitted_ensemble()
    config, state = export_classifier(classifier)
    path = tmp_path / "ghosts.pt"
    save_checkpoint(path, ARCH, config, state)
    trees = build_model(load_checkpoint_file(path))
    assert isinstance(trees, BoostedTrees)
    logits = trees(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(logits, classifier.decision_function(rows), atol=1e-9)
    np.testing.assert_allclose(trees.probabilities(rows), classifier.predict_proba(rows)[:, 1], atol=1e-9)
    assert trees.probabilities(np.zeros((0, len(FEATURES)))).shape == (0,)
    with pytest.raises(ValueError, match="features per row"):
        trees.probabilities(np.zeros((1, 3)))


def _always(p: float) -> object:
    def scorer(rows: np.ndarray) -> np.ndarray:
        return np.full(rows.shape[0], p)
    return scorer


def test_decoding_with_a_ghost_rescorer_keeps_or_drops_only_the_ghost_candidates() -> None:
    post = _posteriors()
    _note(post, C3, 50, 120)
    _note(post, C4, 50, 120, onset=0.5)  # under the fixed rule a ghost (0.5 < 0.6 x 0.95)
    _note(post, G4 + 12, 150, 190)  # alone: never a candidate
    assert [n.pitch for n in decode(post)] == [48, 79]
    seen: list[np.ndarray] = []

    def keep_all(rows: np.ndarray) -> np.ndarray:
        seen.append(rows)
        return np.ones(rows.shape[0])

    assert [n.pitch for n in decode(post, rescorers=Rescorers(ghost=keep_all))] == [48, 60, 79]
    assert seen[0].shape == (1, len(FEATURES))
    assert [n.pitch for n in decode(post, rescorers=Rescorers(ghost=_always(0.4)))] == [48, 79]
    lenient = DecodeSettings(ghost_keep_threshold=0.3)
    assert [n.pitch for n in decode(post, lenient, rescorers=Rescorers(ghost=_always(0.4)))] == [48, 60, 79]


def test_decoding_with_a_restrike_rescorer_decides_onsets_on_held_keys_only() -> None:
    post = _posteriors()
    _note(post, C4, 20, 150)
    post.onset[80, C4] = 0.45  # a swell inside a held note: under the fixed rule's 0.6, no new strike
    _note(post, G4, 160, 190)
    assert [(n.pitch, round(n.start_s * 50)) for n in decode(post)] == [(60, 20), (67, 160)]
    seen: list[np.ndarray] = []

    def new_strike(rows: np.ndarray) -> np.ndarray:
        seen.append(rows)
        return np.ones(rows.shape[0])

    notes = decode(post, rescorers=Rescorers(restrike=new_strike))
    assert [(n.pitch, round(n.start_s * 50)) for n in notes] == [(60, 20), (60, 80), (67, 160)]
    assert len(seen) == 1 and seen[0].shape == (1, len(RESTRIKE_FEATURES))
    row = dict(zip(RESTRIKE_FEATURES, seen[0][0], strict=True))
    assert row["frames_since_previous"] == 60 and row["strength"] == pytest.approx(0.45)
    assert row["previous_strength"] == pytest.approx(0.95)
    under_keep = DecodeSettings().restrike_keep_threshold - 0.05
    assert len(decode(post, rescorers=Rescorers(restrike=_always(under_keep)))) == 2


def test_the_recording_restrike_levels_come_from_peaks_on_keys_held_since_their_previous_peak() -> None:
    post = _posteriors()
    _note(post, C4, 20, 150)
    post.onset[80, C4] = 0.45
    post.onset[120, C4] = 0.7
    _note(post, G4, 160, 190)
    peaks = onset_peaks(post.onset, 0.4)
    median, confident, share = restrike_levels(post, peaks, frame_threshold=0.4, min_gap_frames=3)
    assert median == pytest.approx((0.45 + 0.7) / 2) and confident == 0.5 and share == pytest.approx(2 / 4)
    assert restrike_levels(_posteriors(), [], frame_threshold=0.4, min_gap_frames=3) == (0.0, 0.0, 0.0)
    row = restrike_features(post, C4, 80, 20, (0.5, 0.5, 0.5), np.array([20, 80, 120, 160]))
    assert row.shape == (1, len(RESTRIKE_FEATURES)) and row[0, -3:].tolist() == [0.5, 0.5, 0.5]


def test_fitting_rows_label_a_candidate_struck_when_the_truth_has_its_key_within_50_ms() -> None:
    post = _posteriors()
    _note(post, C3, 50, 120)
    _note(post, C4, 50, 120, onset=0.5)
    _note(post, C3, 150, 190)
    _note(post, C4, 151, 190, onset=0.5)
    truth = np.array([[48, 1.0, 2.4, 80], [60, 1.02, 2.4, 60], [48, 3.0, 3.8, 80]])
    rows, labels = ghost_rows(post, truth)
    assert rows.shape == (2, len(FEATURES))
    assert labels.tolist() == [True, False]


def test_restrike_rows_are_teacher_forced_through_the_decoders_own_loop() -> None:
    post = _posteriors()
    _note(post, C4, 20, 150)
    post.onset[60, C4] = 0.5  # a swell, not struck
    post.onset[100, C4] = 0.5  # struck again: its previous onset is the first strike, not the swell
    truth = np.array([[60, 0.4, 2.0, 80], [60, 2.0, 3.0, 60]])
    rows, labels = restrike_rows(post, truth, None, DecodeSettings(onset_threshold=0.4))
    assert labels.tolist() == [False, True]
    frames_since = rows[:, RESTRIKE_FEATURES.index("frames_since_previous")]
    assert frames_since.tolist() == [40, 80]


def test_fresh_posteriors_come_from_the_per_network_cache_without_rendering(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_render(*args: object, **kwargs: object) -> None:
        raise AssertionError("cached items must not be rendered again")

    monkeypatch.setattr("models.transcribe.dataset.render_training_item", no_render)
    folder = tmp_path / "rescorers" / "abcdef012345"
    folder.mkdir(parents=True)
    post = _posteriors(30)
    for source in ("fluidr3", "additive"):
        np.savez(folder / f"{source}-900000.npz", truth=np.array([[60, 0.1, 0.5, 80]]), onset=post.onset,
                 offset=post.offset, frame=post.frame, velocity=post.velocity)
    config = RescorerFitConfig(cache_dir=tmp_path, items_per_source=1, sources=("fluidr3", "additive"))
    fractions: list[float] = []
    items = fresh_posteriors(torch.nn.Identity(), "abcdef0123456789", config,
                             progress=lambda f, _m: fractions.append(f))
    assert len(items) == 2 and items[0][0].onset.shape == (30, 88) and items[1][1].shape == (1, 4)
    assert fractions == [0.5, 1.0]


def test_one_class_of_rows_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="one class"):
        fit_classifier(np.zeros((5, len(FEATURES))), np.zeros(5, bool))


def test_a_rescorer_fitted_to_another_network_is_not_used(tmp_path: Path) -> None:
    classifier, _ = _fitted_ensemble()
    config, state = export_classifier(classifier)
    manifest = tmp_path / "manifest.json"
    network = tmp_path / "transcribe-piano.pt"
    network.write_bytes(b"a network")
    update_manifest("transcribe-piano", network, manifest_path=manifest)
    ghosts = tmp_path / "transcribe-ghosts.pt"
    save_checkpoint(ghosts, ARCH, config, state)
    update_manifest(GHOST_NAME, ghosts, extra={"arch": ARCH, "network_sha256": "0" * 64}, manifest_path=manifest)
    assert shipped_rescorers(manifest_path=manifest) == Rescorers()
    update_manifest(GHOST_NAME, ghosts, extra={"arch": ARCH, "network_sha256": sha256_of(network)},
                    manifest_path=manifest)
    found = shipped_rescorers(manifest_path=manifest)
    assert found.ghost is not None and found.restrike is None and found.end is None
    assert found.ghost(np.zeros((2, len(FEATURES)))).shape == (2,)
    assert shipped_rescorers(manifest_path=manifest, network_sha256="1" * 64) == Rescorers()
    assert json.loads(manifest.read_text())[GHOST_NAME]["arch"] == ARCH


def test_the_shipped_rescorers_belong_to_the_shipped_network() -> None:
    shipped = shipped_rescorers()
    assert shipped.ghost is not None and shipped.restrike is not None and shipped.end is not None
    ghost = shipped.ghost(np.array([[C4, 12, 0.5, 0.95, 0.53, 0.9, 0.5, 0.5, 0.1, 0.2, 0.0, 0.9, 2, 0.9, 0]]))
    assert ghost.shape == (1,) and 0.0 <= ghost[0] <= 1.0
    restrike = shipped.restrike(np.zeros((3, len(RESTRIKE_FEATURES))))
    assert restrike.shape == (3,)


def test_end_candidates_are_the_frame_fade_the_rules_end_offset_peaks_pedal_releases_and_the_next_strike() -> None:
    post = _posteriors(300)
    _note(post, C4, 20, 120)
    post.offset[60, C4] = 0.3  # a weak offset peak inside the note
    post.offset[121, C4] = 0.9  # the release
    note = NoteContext(key=C4, onset=20, limit=200, frame_end=120, rule_end=121)
    candidates = end_candidates(post, note, np.array([10, 150, 250]))
    assert candidates == {120: "frame", 121: "rule", 60: "peak", 150: "pedal", 200: "next"}
    frames, rows = end_features(post, note, candidates, {150: 12}, 3.0)
    assert frames == [60, 120, 121, 150, 200] and rows.shape == (5, len(END_FEATURES))
    row = dict(zip(END_FEATURES, rows[2], strict=True))
    assert row["is_rule_end"] == 1.0 and row["is_strongest_offset"] == 1.0 and row["offset"] == pytest.approx(0.9)
    assert dict(zip(END_FEATURES, rows[3], strict=True))["pedal_release_keys"] == 12


def test_decoding_with_an_end_rescorer_ends_each_note_at_its_best_rated_candidate() -> None:
    post = _posteriors(300)
    _note(post, C4, 20, 120)
    post.offset[122, C4] = 0.5  # under offset_threshold: the fade ends the note at 120, the snap moves it to 122
    (ruled,) = decode(post)
    assert round(ruled.end_s * 50) == 122

    def prefers_the_fade(rows: np.ndarray) -> np.ndarray:
        return rows[:, END_FEATURES.index("is_frame_end")]

    (learned,) = decode(post, rescorers=Rescorers(end=prefers_the_fade))
    assert round(learned.end_s * 50) == 120


def test_end_rows_label_candidates_within_the_onset_offset_tolerance_of_the_true_end() -> None:
    post = _posteriors(300)
    _note(post, C4, 20, 120)
    post.offset[122, C4] = 0.5
    post.offset[170, C4] = 0.3  # a later offset peak: a candidate
    truth = np.array([[60, 0.4, 3.5, 80]])  # ends at frame 175; tolerance a fifth of 3.1 s = 31 frames
    rows, labels = end_rows(post, truth, None, None, DecodeSettings())
    frames = np.round(np.exp(rows[:, END_FEATURES.index("log_frames_from_onset")]) - 1 + 20)
    assert frames.tolist() == [120, 122, 170]
    assert labels.tolist() == [False, False, True]
    assert end_rows(post, np.array([[62, 0.4, 3.5, 80]]), None, None, DecodeSettings())[0].shape == (
        0, len(END_FEATURES))  # a note that matches no true note gives no rows


def test_rescorers_fitted_to_another_network_are_listed_as_stale(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    network = tmp_path / "transcribe-piano.pt"
    network.write_bytes(b"a network")
    update_manifest("transcribe-piano", network, manifest_path=manifest)
    for name, fitted_to in ((GHOST_NAME, sha256_of(network)), (RESTRIKE_NAME, "0" * 64)):
        path = tmp_path / f"{name}.pt"
        path.write_bytes(b"trees")
        update_manifest(name, path, extra={"network_sha256": fitted_to}, manifest_path=manifest)
    assert stale_rescorers(manifest_path=manifest) == [RESTRIKE_NAME]
    assert stale_rescorers() == []


def test_any_learned_decision_counts_an_end_rescorer_alone() -> None:
    assert not Rescorers().any
    assert Rescorers(end=_always(0.5)).any and Rescorers(ghost=_always(0.5)).any


def test_render_workers_cache_the_same_items_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh items rendered by two spawned processes are the items one process renders (same notes, same
    posteriors), and later calls read them from the cache."""
    from models.transcribe.network import HarmonicOnsetsFrames

    torch.manual_seed(0)
    model = HarmonicOnsetsFrames(channels=(2, 4, 4), dilations=(1, 2), frame_dilations=(1,), dropout=0.0,
                                 input_channels=2).eval()
    base = RescorerFitConfig(cache_dir=tmp_path, items_per_source=1, sources=("fluidr3", "additive"))
    alone = fresh_posteriors(model, "a" * 64, base)
    fractions: list[float] = []
    pooled = fresh_posteriors(model, "b" * 64, RescorerFitConfig(**{**base.__dict__, "workers": 2}),
                              progress=lambda f, _m: fractions.append(f))
    assert len(pooled) == 2 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    for (post_a, truth_a), (post_b, truth_b) in zip(alone, pooled, strict=True):
        np.testing.assert_array_equal(truth_a, truth_b)
        np.testing.assert_allclose(post_a.onset, post_b.onset, atol=1e-6)
    assert sorted(p.name for p in (tmp_path / "rescorers" / ("b" * 12)).iterdir()) == [
        "additive-900000.npz", "fluidr3-900000.npz"]

    def no_render(*args: object, **kwargs: object) -> None:
        raise AssertionError("cached items must not be rendered again")

    monkeypatch.setattr("models.transcribe.dataset.render_training_item", no_render)
    again = fresh_posteriors(model, "b" * 64, RescorerFitConfig(**{**base.__dict__, "workers": 2}))
    np.testing.assert_array_equal(again[1][0].onset, pooled[1][0].onset)
