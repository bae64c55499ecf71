"""Chunked inference with overlap: one helper every frame-based model uses.

Long inputs are split into overlapping windows along the time axis; each window
runs through the model under ``torch.inference_mode()`` and only the central,
fully-contexted part of each output is kept, so results do not depend on where
chunk borders fall and memory stays bounded for any duration.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.progress import CancelToken, ProgressFn, check_cancel, no_progress


def run_chunked(
    forward: Callable[[np.ndarray], np.ndarray],
    features: np.ndarray,
    *,
    chunk_frames: int,
    context_frames: int,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Apply ``forward`` to ``features`` shaped ``(frames, ...)`` in overlapping chunks.

    ``forward`` maps ``(n, ...)`` to ``(n, ...)`` outputs (same frame count).
    Each chunk carries ``context_frames`` extra frames on both sides that are
    computed and dropped. Returns outputs for all frames, stitched.
    """
    total = features.shape[0]
    if total == 0:
        return forward(features)
    if chunk_frames <= 0 or context_frames < 0:
        raise ValueError("chunk_frames must be positive and context_frames non-negative")
    sink = progress or no_progress
    pieces: list[np.ndarray] = []
    for start in range(0, total, chunk_frames):
        check_cancel(cancel)
        stop = min(start + chunk_frames, total)
        lo = max(0, start - context_frames)
        hi = min(total, stop + context_frames)
        out = forward(features[lo:hi])
        pieces.append(out[start - lo : start - lo + (stop - start)])
        sink(stop / total, "inference")
    return np.concatenate(pieces, axis=0)
