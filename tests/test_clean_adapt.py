"""Per-recording breath adaptation: prototypes from confident frames move only the breath logit."""

from __future__ import annotations

import numpy as np
import torch

from models.clean.adapt import AdaptSettings, adapt_probs, breath_advantage
from models.clean.detect import run_model
from models.clean.features import FEATURE_DIM
from models.clean.labels import BREATH, NUM_CLASSES, PAUSE, SPEECH
from models.clean.network import FrameNet


def _track(rng: np.random.Generator, *, breaths: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Three clusters of embeddings (breath, speech, pause) with confident probabilities."""
    centres = {BREATH: np.eye(8)[0], SPEECH: np.eye(8)[1], PAUSE: np.eye(8)[2]}
    embeddings, probs = [], []
    for cls, count in ((BREATH, breaths), (SPEECH, 200), (PAUSE, 100)):
        embeddings.append(centres[cls] + 0.05 * rng.standard_normal((count, 8)))
        row = np.full(NUM_CLASSES, 0.02)
        row[cls] = 1.0 - 0.02 * (NUM_CLASSES - 1)
        probs.append(np.tile(row, (count, 1)))
    return np.concatenate(embeddings).astype(np.float32), np.concatenate(probs).astype(np.float32)


def test_an_unsure_frame_like_the_tracks_breaths_becomes_a_breath() -> None:
    embeddings, probs = _track(np.random.default_rng(0))
    unsure = np.array([[0.5, 0.3, 0.2, 0.0, 0.0, 0.0]], dtype=np.float32)  # speech by argmax
    like_breath = np.eye(8, dtype=np.float32)[:1]
    like_speech = np.eye(8, dtype=np.float32)[1:2]
    all_embeddings = np.concatenate([embeddings, like_breath, like_speech])
    all_probs = np.concatenate([probs, unsure, unsure])
    adapted = adapt_probs(all_embeddings, all_probs, AdaptSettings(confidence=0.9, gain=10.0))
    assert adapted[-2].argmax() == BREATH
    assert adapted[-1, BREATH] < unsure[0, BREATH]
    np.testing.assert_allclose(adapted.sum(axis=1), 1.0, rtol=1e-5)
    # The other classes keep their ratios: only the breath logit moved.
    np.testing.assert_allclose(adapted[-2, SPEECH] / adapted[-2, PAUSE], unsure[0, SPEECH] / unsure[0, PAUSE],
                               rtol=1e-4)


def test_too_few_confident_breaths_leave_the_track_as_detected() -> None:
    embeddings, probs = _track(np.random.default_rng(1), breaths=10)
    settings = AdaptSettings(min_support=20)
    assert breath_advantage(embeddings, probs, settings) is None
    assert adapt_probs(embeddings, probs, settings) is probs


def test_embeddings_feed_the_head_and_do_not_change_the_probabilities() -> None:
    torch.manual_seed(0)
    model = FrameNet(channels=16, hidden=8).eval()
    features = np.random.default_rng(2).standard_normal((2600, FEATURE_DIM)).astype(np.float32)
    embeddings = np.zeros((2600, model.head.in_features), dtype=np.float32)
    with_embeddings = run_model(model, features, embeddings=embeddings, workers=1)
    np.testing.assert_allclose(with_embeddings, run_model(model, features, workers=1), atol=1e-6)
    with torch.inference_mode():
        direct = model.embed(torch.from_numpy(features[:500])[None])[0].numpy()
    # Away from chunk borders the chunked embeddings are the whole-signal ones.
    np.testing.assert_allclose(embeddings[100:400], direct[100:400], atol=1e-4)
    assert np.abs(embeddings).sum(axis=1).min() > 0
