"""Fitting the octave-ghost rescorer (:mod:`models.transcribe.ghosts`) for a trained network.

The rows are the network's ghost candidates on *fresh* renders of the training pianos: items from
an index range no shard uses (:data:`FIRST_INDEX` on, so music the network never heard), rendered
exactly as training items are (random augmentation chain included) by every source in
:data:`SOURCES`. The additive source brings a new procedural piano per item, so the rows span many
partial balances and the ensemble learns to read the recording's ghost level rather than one
piano's. The label of a candidate is whether a key of its pitch was struck within 50 ms.

Rows are cached per network and item (``<cache>/ghosts/<network sha256[:12]>/``), so an interrupted
fit resumes and a refit with other settings renders nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.atomic import atomic_path
from models.progress import ProgressFn
from models.transcribe import dataset
from models.transcribe.decode import Posteriors, onset_peaks
from models.transcribe.features import FRAMES_PER_S
from models.transcribe.ghosts import CHORD_PEAK_FLOOR, FEATURES, ghost_features
from models.transcribe.labels import LOWEST_PITCH

log = logging.getLogger(__name__)

#: Training sources whose fresh items give the rows (the four piano renderers).
SOURCES = ("fluidr3", "freepats", "mda", "additive")
#: First item index (per source) of the fresh items: far beyond any shard (40-96 shards of 16 items).
FIRST_INDEX = 900_000
#: Candidates from this onset probability are rows (the shipped decoding's onset threshold).
ROW_THRESHOLD = 0.4
#: A candidate is a struck key when a reference onset of its pitch lies this close.
MATCH_S = 0.05


@dataclass(frozen=True)
class GhostFitConfig:
    cache_dir: Path
    items_per_source: int = 64
    sources: tuple[str, ...] = SOURCES
    n_estimators: int = 300
    max_depth: int = 4
    learning_rate: float = 0.05
    seed: int = 0


def posteriors_of(model: Any, features: np.ndarray) -> Posteriors:
    """The network's posteriors for one item's features (a 30 s item fits one forward pass)."""
    import torch

    with torch.inference_mode():
        out = model(torch.from_numpy(features.astype(np.float32)).unsqueeze(0))
    return Posteriors(onset=torch.sigmoid(out.onset)[0].numpy(), offset=torch.sigmoid(out.offset)[0].numpy(),
                      frame=torch.sigmoid(out.frame)[0].numpy(), velocity=out.velocity[0].numpy())


def candidate_rows(post: Posteriors, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of the ghost candidates from :data:`ROW_THRESHOLD` and whether each is a struck key."""
    candidates = [(t, k, float(post.onset[t, k])) for t, k in onset_peaks(post.onset, ROW_THRESHOLD)]
    indices, rows = ghost_features(post, candidates, onset_peaks(post.onset, CHORD_PEAK_FLOOR))
    labels = np.array([bool(np.any((truth[:, 0] == candidates[i][1] + LOWEST_PITCH)
                                   & (np.abs(truth[:, 1] - candidates[i][0] / FRAMES_PER_S) <= MATCH_S)))
                       for i in indices], dtype=bool)
    return rows, labels


def fresh_rows(model: Any, network_sha256: str, config: GhostFitConfig, *,
               progress: ProgressFn | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows and labels of every fresh item of every source (rendered, or read from the row cache)."""
    folder = config.cache_dir / "ghosts" / network_sha256[:12]
    folder.mkdir(parents=True, exist_ok=True)
    input_channels = int(getattr(model, "input_channels", 1))
    all_rows, all_labels = [], []
    total = config.items_per_source * len(config.sources)
    done = 0
    for offset in range(config.items_per_source):
        for source in config.sources:
            index = FIRST_INDEX + offset
            path = folder / f"{source}-{index}.npz"
            if not path.exists():
                item = dataset.render_training_item(index, cache_dir=config.cache_dir, source=source,
                                                    input_channels=input_channels)
                rows, labels = candidate_rows(posteriors_of(model, item.features), item.notes)
                with atomic_path(path) as tmp, open(tmp, "wb") as handle:
                    np.savez(handle, rows=rows, labels=labels)
            with np.load(path) as cached:
                all_rows.append(cached["rows"])
                all_labels.append(cached["labels"])
            done += 1
            if progress is not None:
                progress(done / total, f"{source} item {index}")
    return (np.concatenate(all_rows).reshape(-1, len(FEATURES)),
            np.concatenate(all_labels).astype(bool))


def fit_classifier(rows: np.ndarray, labels: np.ndarray, config: GhostFitConfig) -> Any:
    """A scikit-learn gradient-boosted tree ensemble separating struck keys from partials."""
    from sklearn.ensemble import GradientBoostingClassifier

    if len(np.unique(labels)) < 2:
        raise ValueError("the rows hold only one class: render more items")
    classifier = GradientBoostingClassifier(n_estimators=config.n_estimators, max_depth=config.max_depth,
                                            learning_rate=config.learning_rate, random_state=config.seed)
    return classifier.fit(rows, labels)


def summary_of(classifier: Any, rows: np.ndarray, labels: np.ndarray,
               sources: Sequence[str]) -> dict[str, Any]:
    """What the manifest records about a fit."""
    errors = int(np.sum(classifier.predict(rows) != labels))
    return {"rows": int(rows.shape[0]), "struck_fraction": round(float(labels.mean()), 4),
            "training_error_rate": round(errors / max(1, rows.shape[0]), 4), "sources": list(sources)}


def fit_rescorer(network_path: Path, out_path: Path, config: GhostFitConfig, *,
                 progress: ProgressFn | None = None) -> dict[str, Any]:
    """Fit the rescorer for the network at ``network_path`` and save it as ``out_path`` with its manifest
    entry (beside it), which records the network's sha256 so a rescorer never meets another network."""
    import torch

    from models.registry import build_model, load_checkpoint_file, save_checkpoint, sha256_of, update_manifest
    from models.transcribe.ghosts import ARCH, MODEL_NAME, export_classifier

    torch.set_num_threads(1)
    network_sha256 = sha256_of(network_path)
    import models.transcribe.network  # noqa: F401  (registers the network's architecture)

    model = build_model(load_checkpoint_file(network_path))
    rows, labels = fresh_rows(model, network_sha256, config, progress=progress)
    log.info("fitting the ghost rescorer on %d rows (%.1f %% struck keys)", rows.shape[0], 100 * labels.mean())
    classifier = fit_classifier(rows, labels, config)
    model_config, state = export_classifier(classifier)
    save_checkpoint(out_path, ARCH, model_config, state)
    summary = {"network_sha256": network_sha256, "items_per_source": config.items_per_source,
               **summary_of(classifier, rows, labels, config.sources)}
    update_manifest(MODEL_NAME, out_path, extra={"arch": ARCH, **summary},
                    manifest_path=out_path.parent / "manifest.json")
    return summary
