"""Per-recording breath adaptation: learn this recording's breath from the breaths the detector is sure of.

A podcast track's breaths sound alike (one voice, one mic, one room), and a breath timbre the
training never had is where the detector hesitates. Where it is sure of some breath frames, the
frames that resemble *those* breaths more than the same track's confident speech and pause
frames are likely breaths as well. Resemblance is measured in the network's own frame
embedding (what its classification head reads: local convolution features and BiGRU context),
so a frame's neighbourhood counts, not only its spectrum. The adaptation only moves the breath
logit; the signal logic and the planner's speech protection apply afterwards unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.clean.labels import BREATH, PAUSE, SPEECH


@dataclass(frozen=True)
class AdaptSettings:
    """``confidence``: the probability a frame's argmax needs to join its class's support set;
    ``gain``: how far one unit of cosine advantage moves the breath logit; ``min_support``:
    fewer confident frames of a class than this and the track is left as detected."""

    confidence: float = 0.9
    gain: float = 10.0
    min_support: int = 20


def _prototype(unit: np.ndarray, members: np.ndarray) -> np.ndarray:
    mean = unit[members].astype(np.float64).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def breath_advantage(embeddings: np.ndarray, probs: np.ndarray, settings: AdaptSettings) -> np.ndarray | None:
    """Per frame, cosine similarity to the track's breath prototype minus the larger of those to
    its speech and pause prototypes; ``None`` when a support set is too small to trust."""
    top = probs.argmax(axis=1)
    sure = probs.max(axis=1) >= settings.confidence
    support = {cls: np.flatnonzero(sure & (top == cls)) for cls in (BREATH, SPEECH, PAUSE)}
    if any(members.size < settings.min_support for members in support.values()):
        return None
    vectors = embeddings.astype(np.float32)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = {cls: unit @ _prototype(unit, members).astype(np.float32) for cls, members in support.items()}
    return similarity[BREATH] - np.maximum(similarity[SPEECH], similarity[PAUSE])


def adapt_probs(embeddings: np.ndarray, probs: np.ndarray, settings: AdaptSettings) -> np.ndarray:
    """``probs`` with each frame's breath logit raised (or lowered) by ``gain`` x its breath advantage."""
    advantage = breath_advantage(embeddings, probs, settings)
    if advantage is None:
        return probs
    logits = np.log(np.maximum(probs.astype(np.float64), 1e-12))
    logits[:, BREATH] += settings.gain * advantage
    logits -= logits.max(axis=1, keepdims=True)
    adapted = np.exp(logits)
    return (adapted / adapted.sum(axis=1, keepdims=True)).astype(np.float32)
