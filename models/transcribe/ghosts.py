"""Octave ghosts decided per recording: is an onset a struck key, or a partial of a stronger note below?

Every piano partial of a note lands on another key's onset detector (the 2nd on the octave, the
3rd on the twelfth, the 4th on two octaves), so a chord lights keys that were never struck. The
fixed rule in :mod:`models.transcribe.decode` (drop an onset weaker than ``ghost_ratio`` times
a coinciding one a partial interval below, or whose frame probability does not hold) suits one
piano's partial balance: on the held-out piano's selection pieces it dropped 370 real notes and kept
270 ghosts among 3522 such onsets, because that piano's second partial is stronger than the
training pianos'. How strongly a lone, confident note lights the key an octave up *in this
recording* measures exactly that balance, so the rescorer here sees it (:data:`FEATURES` ``ghost_level``
and ``ghost_level_q75``: the median and upper quartile over the recording's confident onsets) beside the
onset's and its partner's posteriors, and decides per recording.

The decision is a gradient-boosted tree ensemble (scikit-learn at fitting time) exported to plain
tensors, :class:`GhostTrees`, so shipping it needs neither pickle nor scikit-learn: the registry loads it
like any network (``weights_only``, sha256-checked). It is fitted on the network's posteriors of fresh
renders of the *training* pianos (:mod:`models.transcribe.ghost_fit`); the held-out piano only chooses its
threshold. A rescorer belongs to the network whose posteriors it was fitted on (the manifest records that
network's sha256; a mismatch falls back to the rule).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from models.registry import MANIFEST_PATH, load_model, read_manifest, register_arch

if TYPE_CHECKING:
    from models.transcribe.decode import Posteriors

log = logging.getLogger(__name__)

ARCH = "transcribe.ghosts.GhostTrees"
MODEL_NAME = "transcribe-ghosts"
#: The network whose posteriors the shipped rescorer reads.
NETWORK_NAME = "transcribe-piano"
#: Intervals (semitones) at which a stronger onset below makes an onset a ghost candidate.
PARTNER_INTERVALS = (12, 19, 24)
#: Frames (each side) within which the partner's onset must fall.
PARTNER_FRAMES = 2
#: Onsets at least this confident set the recording's ghost level.
CONFIDENT_ONSET = 0.7
#: Onset peaks from this probability count towards the chord size.
CHORD_PEAK_FLOOR = 0.2
FEATURES = ("key", "interval", "strength", "partner_strength", "ratio", "hold", "velocity", "partner_velocity",
            "ghost_level", "ghost_level_q75", "hold_before", "partner_hold", "chord_size", "hold_long",
            "frames_after_partner")


def ghost_level(onset: np.ndarray, peaks: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """Median and upper quartile, over the recording's confident onset peaks, of the strongest onset an
    octave up within :data:`PARTNER_FRAMES`, relative to the peak: how loudly this piano's second partial
    speaks on the octave's detector (0 when the recording has no confident onset)."""
    ratios = [float(onset[max(0, t - PARTNER_FRAMES):t + PARTNER_FRAMES + 1, k + 12].max() / onset[t, k])
              for t, k in peaks if onset[t, k] >= CONFIDENT_ONSET and k + 12 < onset.shape[1]]
    if not ratios:
        return 0.0, 0.0
    return float(np.median(ratios)), float(np.percentile(ratios, 75))


def ghost_features(post: Posteriors, candidates: Sequence[tuple[int, int, float]],
                   floor_peaks: Sequence[tuple[int, int]]) -> tuple[list[int], np.ndarray]:
    """The candidates (``(frame, key, strength)`` onset peaks) that coincide with a stronger candidate a
    partner interval below, as indices into ``candidates``, and their :data:`FEATURES` rows ``(n, 15)``.

    ``floor_peaks`` are the recording's onset peaks from :data:`CHORD_PEAK_FLOOR` (for the ghost level and
    the chord size), whatever the decoding's onset threshold.
    """
    level, level_q75 = ghost_level(post.onset, floor_peaks)
    peak_frames = np.array([t for t, _ in floor_peaks], dtype=np.int64)
    by_key: dict[int, list[tuple[int, float]]] = {}
    for t, k, strength in candidates:
        by_key.setdefault(k, []).append((t, strength))
    indices: list[int] = []
    rows: list[tuple[float, ...]] = []
    for index, (t, k, strength) in enumerate(candidates):
        partner: tuple[int, float, int] | None = None
        for interval in PARTNER_INTERVALS:
            for other_t, other_strength in by_key.get(k - interval, ()):
                if abs(other_t - t) <= PARTNER_FRAMES and other_strength > strength and (
                        partner is None or other_strength > partner[1]):
                    partner = (interval, other_strength, other_t)
        if partner is None:
            continue
        interval, partner_strength, partner_t = partner
        low = k - interval
        rows.append((k, interval, strength, partner_strength, strength / partner_strength,
                     float(np.mean(post.frame[t:t + 6, k])), float(post.velocity[t, k]),
                     float(post.velocity[partner_t, low]), level, level_q75,
                     float(np.mean(post.frame[max(0, t - 6):max(1, t - 1), k])),
                     float(np.mean(post.frame[partner_t:partner_t + 6, low])),
                     int(np.sum(np.abs(peak_frames - t) <= PARTNER_FRAMES)),
                     float(np.mean(post.frame[t:t + 15, k])), t - partner_t))
        indices.append(index)
    return indices, np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))


@register_arch(ARCH)
class GhostTrees(nn.Module):
    """A boosted ensemble of binary decision trees as flat tensors; ``forward`` gives the log-odds that
    each feature row is a struck key. Node ``i`` splits on ``feature[i] <= threshold[i]`` (left) or is a
    leaf (``left[i] < 0``) worth ``value[i]``; tree ``j`` starts at node ``roots[j]``."""

    feature: torch.Tensor
    threshold: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor
    value: torch.Tensor
    roots: torch.Tensor
    bias: torch.Tensor

    def __init__(self, *, n_nodes: int, n_trees: int, n_features: int = len(FEATURES), depth: int = 4) -> None:
        super().__init__()
        self.n_features = int(n_features)
        self.depth = int(depth)
        self.register_buffer("feature", torch.zeros(n_nodes, dtype=torch.long))
        self.register_buffer("threshold", torch.zeros(n_nodes, dtype=torch.float64))
        self.register_buffer("left", torch.full((n_nodes,), -1, dtype=torch.long))
        self.register_buffer("right", torch.full((n_nodes,), -1, dtype=torch.long))
        self.register_buffer("value", torch.zeros(n_nodes, dtype=torch.float64))
        self.register_buffer("roots", torch.zeros(n_trees, dtype=torch.long))
        self.register_buffer("bias", torch.zeros((), dtype=torch.float64))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        # scikit-learn compares float32 features with float64 thresholds; do the same.
        x = rows.to(torch.float32).to(torch.float64)
        node = self.roots.unsqueeze(0).expand(x.shape[0], -1)
        for _ in range(self.depth):
            split = self.left[node] >= 0
            go_left = torch.gather(x, 1, self.feature[node]) <= self.threshold[node]
            node = torch.where(split, torch.where(go_left, self.left[node], self.right[node]), node)
        return self.bias + self.value[node].sum(dim=1)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Probability that each row of :data:`FEATURES` is a struck key rather than a partial."""
        if rows.shape[0] == 0:
            return np.zeros(0)
        with torch.inference_mode():
            return torch.sigmoid(self(torch.from_numpy(np.asarray(rows, dtype=np.float64)))).numpy()


def export_classifier(classifier: Any) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config and state dict of a :class:`GhostTrees` computing a fitted binary scikit-learn
    ``GradientBoostingClassifier``'s decision function (its public ``estimators_[i, 0].tree_`` arrays)."""
    features, thresholds, lefts, rights, values, roots = [], [], [], [], [], []
    offset = 0
    depth = 0
    for estimator in classifier.estimators_[:, 0]:
        tree = estimator.tree_
        leaf = tree.children_left < 0
        roots.append(offset)
        features.append(np.where(leaf, 0, tree.feature))
        thresholds.append(np.where(leaf, 0.0, tree.threshold))
        lefts.append(np.where(leaf, -1, tree.children_left + offset))
        rights.append(np.where(leaf, -1, tree.children_right + offset))
        values.append(np.where(leaf, tree.value[:, 0, 0] * classifier.learning_rate, 0.0))
        offset += tree.node_count
        depth = max(depth, int(tree.max_depth))
    probe = np.zeros((1, classifier.n_features_in_))
    tree_sum = sum(float(e.predict(probe)[0]) for e in classifier.estimators_[:, 0]) * classifier.learning_rate
    bias = float(classifier.decision_function(probe)[0]) - tree_sum
    config = {"n_nodes": offset, "n_trees": len(roots), "n_features": int(classifier.n_features_in_),
              "depth": depth}
    state = {"feature": torch.from_numpy(np.concatenate(features).astype(np.int64)),
             "threshold": torch.from_numpy(np.concatenate(thresholds).astype(np.float64)),
             "left": torch.from_numpy(np.concatenate(lefts).astype(np.int64)),
             "right": torch.from_numpy(np.concatenate(rights).astype(np.int64)),
             "value": torch.from_numpy(np.concatenate(values).astype(np.float64)),
             "roots": torch.tensor(roots, dtype=torch.long), "bias": torch.tensor(bias, dtype=torch.float64)}
    return config, state


def shipped_scorer(*, manifest_path: Path = MANIFEST_PATH) -> Callable[[np.ndarray], np.ndarray] | None:
    """The shipped rescorer's probabilities, or ``None`` (decode then uses the fixed rule) when none ships
    or it was fitted to another network than the shipped one (its rows would mean something else)."""
    manifest = read_manifest(manifest_path)
    entry, network = manifest.get(MODEL_NAME), manifest.get(NETWORK_NAME)
    if entry is None or network is None:
        return None
    if entry.get("network_sha256") != network["sha256"]:
        log.warning("%s was fitted to another %s; using the fixed octave-ghost rule", MODEL_NAME, NETWORK_NAME)
        return None
    scorer: GhostTrees = load_model(MODEL_NAME, device="cpu", manifest_path=manifest_path)
    return scorer.probabilities
