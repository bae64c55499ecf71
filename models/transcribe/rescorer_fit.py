"""Fitting the decoding rescorers (octave ghosts, re-strikes, note ends) for a trained network.

The rows are the network's decisions on *fresh* renders of the training pianos: items from an index
range no shard uses (:data:`FIRST_INDEX` on, so music the network never heard), rendered exactly as
training items are (random augmentation chain included) by every source in :data:`SOURCES`. The
additive source brings a new procedural piano per item and the mda source a new voicing, so the rows
span many instruments and the ensembles learn to read the recording-level features rather than one
piano's habits; one additive or mda item in four plays re-strike music. A candidate's label is whether
a key of its pitch was struck within 50 ms.

* Ghost rows: every ghost candidate (:func:`models.transcribe.ghosts.ghost_features`) from onset
  :data:`ROW_THRESHOLD`.
* Re-strike rows: the decoder's own loop (:func:`models.transcribe.decode.accepted_onsets`) after the
  fitted ghost rescorer, with every held candidate decided by its label (teacher forcing), so each row
  sees the previous onset the decoder would have accepted had it decided right.
* End rows: every note the decoder then writes (both fitted rescorers deciding its onsets), each of its
  candidate ends (:func:`models.transcribe.ends.end_candidates`) labelled by whether it lies within the
  onset+offset tolerance (50 ms or a fifth of the note, whichever is longer) of the end of the true note
  it matches (same key, onset within 50 ms); notes that match none give no rows.

The network's posteriors are cached per network and item (``<cache>/rescorers/<network sha256[:12]>/``,
float32 as computed, about 1.5 MB per item), so an interrupted fit resumes and a refit renders nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.atomic import atomic_path
from models.progress import ProgressFn
from models.transcribe import dataset
from models.transcribe.decode import (
    DecodeSettings,
    Posteriors,
    Scorer,
    accepted_onsets,
    note_contexts,
    note_end_rows,
    onset_candidates,
    onset_peaks,
    pedal_releases,
    restrike_decision,
    restrike_inputs,
)
from models.transcribe.ends import FEATURES as END_FEATURES
from models.transcribe.features import FRAMES_PER_S
from models.transcribe.ghosts import CHORD_PEAK_FLOOR, ghost_features
from models.transcribe.ghosts import FEATURES as GHOST_FEATURES
from models.transcribe.labels import LOWEST_PITCH
from models.transcribe.restrikes import FEATURES as RESTRIKE_FEATURES
from models.transcribe.restrikes import restrike_features

log = logging.getLogger(__name__)

#: Training sources whose fresh items give the rows (the four piano renderers).
SOURCES = ("fluidr3", "freepats", "mda", "additive")
#: First item index (per source) of the fresh items: far beyond any shard (40-96 shards of 16 items).
FIRST_INDEX = 900_000
#: Candidates from this onset probability are rows (run 10's decoding threshold without rescorers).
ROW_THRESHOLD = 0.4
#: The decoding the re-strike and end rows are collected with (the shipped choice after the re-strike rescorer,
#: before the end rescorer moved the pedal-release settings), pinned so that a refit reproduces the shipped
#: rescorers whatever the defaults become.
FIT_DECODING = DecodeSettings(onset_threshold=ROW_THRESHOLD, ghost_keep_threshold=0.6, restrike_keep_threshold=0.4,
                              release_keys=11, release_threshold=0.15, release_lookahead_frames=50)
#: A candidate is a struck key when a reference onset of its pitch lies this close.
MATCH_S = 0.05


@dataclass(frozen=True)
class RescorerFitConfig:
    cache_dir: Path
    items_per_source: int = 128
    sources: tuple[str, ...] = SOURCES
    #: Processes that render the fresh items not yet cached (the fit itself is one process).
    workers: int = 1
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


def _matches(truth: np.ndarray, key: int, frame: int) -> np.ndarray:
    """Indices of the true notes of ``key`` whose onset lies within :data:`MATCH_S` of ``frame``."""
    return np.nonzero((truth[:, 0] == key + LOWEST_PITCH) & (np.abs(truth[:, 1] - frame / FRAMES_PER_S) <= MATCH_S))[0]


def _struck(truth: np.ndarray, key: int, frame: int) -> bool:
    return bool(_matches(truth, key, frame).size)


def ghost_rows(post: Posteriors, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of the ghost candidates from :data:`ROW_THRESHOLD` and whether each is a struck key."""
    candidates = [(t, k, float(post.onset[t, k])) for t, k in onset_peaks(post.onset, ROW_THRESHOLD)]
    indices, rows = ghost_features(post, candidates, onset_peaks(post.onset, CHORD_PEAK_FLOOR))
    labels = np.array([_struck(truth, candidates[i][1], candidates[i][0]) for i in indices], dtype=bool)
    return rows, labels


def restrike_rows(post: Posteriors, truth: np.ndarray, ghost: Scorer | None,
                  settings: DecodeSettings) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of the decoder's held candidates (after ``ghost``), teacher-forced, and their labels."""
    levels, chord_frames = restrike_inputs(post, settings)
    rows: list[np.ndarray] = []
    labels: list[bool] = []

    def by_label(key: int, t: int, previous: int, strength: float) -> bool:
        rows.append(restrike_features(post, key, t, previous, levels, chord_frames))
        labels.append(_struck(truth, key, t))
        return labels[-1]

    accepted_onsets(post, onset_candidates(post, settings, ghost), settings, by_label)
    return (np.concatenate(rows) if rows else np.zeros((0, len(RESTRIKE_FEATURES))),
            np.array(labels, dtype=bool))


def end_rows(post: Posteriors, truth: np.ndarray, ghost: Scorer | None, restrike: Scorer | None,
             settings: DecodeSettings) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of the candidate ends of every decoded note that matches a true note, and whether each
    candidate lies within the onset+offset tolerance of that note's end."""
    accepted = accepted_onsets(post, onset_candidates(post, settings, ghost), settings,
                               restrike_decision(post, settings, restrike))
    releases = pedal_releases(post.offset, settings)
    notes = [note for note, _ in note_contexts(post, accepted, releases, settings)]
    all_rows, all_labels = [], []
    for note, (frames, rows) in zip(notes, note_end_rows(post, notes, releases, settings), strict=True):
        match = _matches(truth, note.key, note.onset)
        if not match.size:
            continue
        start, end = truth[match[0], 1], truth[match[0], 2]
        tolerance = max(MATCH_S, 0.2 * (end - start))
        all_rows.append(rows)
        all_labels.append(np.abs(np.array(frames) / FRAMES_PER_S - end) <= tolerance)
    if not all_rows:
        return np.zeros((0, len(END_FEATURES))), np.zeros(0, dtype=bool)
    return np.concatenate(all_rows), np.concatenate(all_labels)


def fresh_posteriors(model: Any, network_sha256: str, config: RescorerFitConfig, *,
                     progress: ProgressFn | None = None) -> list[tuple[Posteriors, np.ndarray]]:
    """Posteriors and true notes of every fresh item of every source (rendered, or read from the cache).

    Items not yet cached are rendered first, by ``config.workers`` processes when more than one (rendering,
    not fitting, is most of a refit's time: about 20 minutes for 512 items in one process).
    """
    folder = config.cache_dir / "rescorers" / network_sha256[:12]
    folder.mkdir(parents=True, exist_ok=True)
    input_channels = int(getattr(model, "input_channels", 1))
    wanted = [(source, FIRST_INDEX + offset, folder / f"{source}-{FIRST_INDEX + offset}.npz")
              for offset in range(config.items_per_source) for source in config.sources]
    missing = [task for task in wanted if not task[2].exists()]
    total = len(wanted) + len(missing)
    done = 0
    if config.workers > 1 and len(missing) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=config.workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(model, config.cache_dir, input_channels)) as pool:
            for future in as_completed([pool.submit(_render_in_worker, task) for task in missing]):
                future.result()
                done += 1
                if progress is not None:
                    progress(done / total, "rendered fresh items")
    else:
        for source, index, path in missing:
            _render_item(model, config.cache_dir, input_channels, source, index, path)
            done += 1
            if progress is not None:
                progress(done / total, f"rendered {source} item {index}")
    items = []
    for source, index, path in wanted:
        with np.load(path) as cached:
            post = Posteriors(*(cached[k].astype(np.float32) for k in ("onset", "offset", "frame", "velocity")))
            items.append((post, cached["truth"]))
        done += 1
        if progress is not None:
            progress(done / total, f"{source} item {index}")
    return items


def _render_item(model: Any, cache_dir: Path, input_channels: int, source: str, index: int, path: Path) -> None:
    """Render one fresh item, run the network on it and cache its posteriors and true notes at ``path``."""
    item = dataset.render_training_item(index, cache_dir=cache_dir, source=source, input_channels=input_channels)
    post = posteriors_of(model, item.features)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, truth=item.notes, onset=post.onset, offset=post.offset, frame=post.frame,
                            velocity=post.velocity)


#: A render worker's network and settings, set once per process by :func:`_start_worker`.
_WORKER: dict[str, Any] = {}


def _start_worker(model: Any, cache_dir: Path, input_channels: int) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER.update(model=model, cache_dir=cache_dir, input_channels=input_channels)


def _render_in_worker(task: tuple[str, int, Path]) -> None:
    source, index, path = task
    _render_item(_WORKER["model"], _WORKER["cache_dir"], _WORKER["input_channels"], source, index, path)


def _stacked(parts: list[tuple[np.ndarray, np.ndarray]], n_features: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([rows for rows, _ in parts]).reshape(-1, n_features)
    return rows, np.concatenate([labels for _, labels in parts]).astype(bool)


def _fit(rows: np.ndarray, labels: np.ndarray, config: RescorerFitConfig) -> Any:
    from models.transcribe.trees import fit_classifier

    return fit_classifier(rows, labels, n_estimators=config.n_estimators, max_depth=config.max_depth,
                          learning_rate=config.learning_rate, seed=config.seed)


def _save(classifier: Any, rows: np.ndarray, labels: np.ndarray, name: str, out_path: Path,
          extra: dict[str, Any]) -> tuple[Scorer, dict[str, Any]]:
    from models.registry import build_model, save_checkpoint, update_manifest
    from models.transcribe.trees import ARCH, export_classifier

    config, state = export_classifier(classifier)
    save_checkpoint(out_path, ARCH, config, state)
    errors = int(np.sum(classifier.predict(rows) != labels))
    summary = {**extra, "rows": int(rows.shape[0]), "positive_fraction": round(float(labels.mean()), 4),
               "training_error_rate": round(errors / max(1, rows.shape[0]), 4)}
    update_manifest(name, out_path, extra={"arch": ARCH, **summary}, manifest_path=out_path.parent / "manifest.json")
    model = build_model({"arch": ARCH, "config": config, "state_dict": state})
    return model.probabilities, summary


def fit_rescorers(network_path: Path, out_dir: Path, config: RescorerFitConfig, *,
                  progress: ProgressFn | None = None) -> dict[str, Any]:
    """Fit the three rescorers for the network at ``network_path``, each on top of the ones before it; save
    them in ``out_dir`` as ``transcribe-ghosts.pt``, ``transcribe-restrikes.pt`` and ``transcribe-ends.pt``
    with manifest entries recording the network's sha256, so a rescorer never meets another network."""
    import torch

    import models.transcribe.network  # noqa: F401  (registers the network's architecture)
    from models.registry import build_model, load_checkpoint_file, sha256_of
    from models.transcribe.rescorers import END_NAME, GHOST_NAME, RESTRIKE_NAME

    torch.set_num_threads(1)
    network_sha256 = sha256_of(network_path)
    model = build_model(load_checkpoint_file(network_path))
    items = fresh_posteriors(model, network_sha256, config, progress=progress)
    extra = {"network_sha256": network_sha256, "items_per_source": config.items_per_source,
             "sources": list(config.sources)}
    rows, labels = _stacked([ghost_rows(post, truth) for post, truth in items], len(GHOST_FEATURES))
    log.info("ghost rescorer: %d rows (%.1f %% struck keys)", rows.shape[0], 100 * labels.mean())
    ghost, ghost_summary = _save(_fit(rows, labels, config), rows, labels, GHOST_NAME,
                                 out_dir / f"{GHOST_NAME}.pt", extra)
    settings = FIT_DECODING
    rows, labels = _stacked([restrike_rows(post, truth, ghost, settings) for post, truth in items],
                            len(RESTRIKE_FEATURES))
    log.info("re-strike rescorer: %d rows (%.1f %% new strikes)", rows.shape[0], 100 * labels.mean())
    restrike, restrike_summary = _save(_fit(rows, labels, config), rows, labels, RESTRIKE_NAME,
                                       out_dir / f"{RESTRIKE_NAME}.pt", extra)
    rows, labels = _stacked([end_rows(post, truth, ghost, restrike, settings) for post, truth in items],
                            len(END_FEATURES))
    log.info("end rescorer: %d rows (%.1f %% within tolerance)", rows.shape[0], 100 * labels.mean())
    _, end_summary = _save(_fit(rows, labels, config), rows, labels, END_NAME, out_dir / f"{END_NAME}.pt", extra)
    return {"network_sha256": network_sha256, "items": len(items),
            **{name: {k: v for k, v in summary.items() if k not in extra}
               for name, summary in ((GHOST_NAME, ghost_summary), (RESTRIKE_NAME, restrike_summary),
                                     (END_NAME, end_summary))}}
