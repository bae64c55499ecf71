"""Boosted decision trees as plain tensors: the decoder's rescorers, shipped without pickle.

A rescorer (:mod:`models.transcribe.ghosts`, :mod:`models.transcribe.restrikes`) is a gradient-boosted
ensemble that scikit-learn fits (``GradientBoostingClassifier``, at training time only) and
:func:`export_classifier` flattens into tensors of node features, thresholds, children and leaf values.
:class:`BoostedTrees` evaluates them with torch, so a rescorer loads through the registry with
``weights_only`` and a sha256 like every network, and running it needs neither pickle nor scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from models.registry import register_arch

ARCH = "transcribe.trees.BoostedTrees"


@register_arch(ARCH)
class BoostedTrees(nn.Module):
    """A boosted ensemble of binary decision trees as flat tensors; ``forward`` gives the log-odds of the
    positive class for each feature row. Node ``i`` splits on ``feature[i] <= threshold[i]`` (left) or is a
    leaf (``left[i] < 0``) worth ``value[i]``; tree ``j`` starts at node ``roots[j]``."""

    feature: torch.Tensor
    threshold: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor
    value: torch.Tensor
    roots: torch.Tensor
    bias: torch.Tensor

    def __init__(self, *, n_nodes: int, n_trees: int, n_features: int, depth: int) -> None:
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
        """Probability of the positive class for each feature row ``(n, n_features)``."""
        if rows.shape[0] == 0:
            return np.zeros(0)
        if rows.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features per row, got {rows.shape[1]}")
        with torch.inference_mode():
            return torch.sigmoid(self(torch.from_numpy(np.asarray(rows, dtype=np.float64)))).numpy()


def fit_classifier(rows: np.ndarray, labels: np.ndarray, *, n_estimators: int = 300, max_depth: int = 4,
                   learning_rate: float = 0.05, seed: int = 0) -> Any:
    """A scikit-learn gradient-boosted tree ensemble for a binary decision."""
    from sklearn.ensemble import GradientBoostingClassifier

    if len(np.unique(labels)) < 2:
        raise ValueError("the rows hold only one class: render more items")
    classifier = GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth,
                                            learning_rate=learning_rate, random_state=seed)
    return classifier.fit(rows, labels)


def export_classifier(classifier: Any) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config and state dict of a :class:`BoostedTrees` computing a fitted binary scikit-learn
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
