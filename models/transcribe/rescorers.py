"""The shipped decoding rescorers, loaded only for the network they were fitted to.

A rescorer (:mod:`models.transcribe.ghosts`, :mod:`models.transcribe.restrikes`,
:mod:`models.transcribe.ends`) reads one network's
posteriors: its manifest entry records that network's sha256 (``network_sha256``), and one fitted to
another network is not used (decoding falls back to the fixed rule, with a warning) rather than
making decisions on numbers it has never seen.
"""

from __future__ import annotations

import logging
from pathlib import Path

from models.registry import MANIFEST_PATH, load_model, read_manifest
from models.transcribe.decode import Rescorers, Scorer

log = logging.getLogger(__name__)

NETWORK_NAME = "transcribe-piano"
GHOST_NAME = "transcribe-ghosts"
RESTRIKE_NAME = "transcribe-restrikes"
END_NAME = "transcribe-ends"


def stale_rescorers(*, manifest_path: Path = MANIFEST_PATH) -> list[str]:
    """Names of the rescorers in ``manifest_path`` fitted to another network than the one it ships (for
    ``reamend doctor``: decoding ignores them until they are refitted)."""
    manifest = read_manifest(manifest_path)
    network_sha256 = manifest.get(NETWORK_NAME, {}).get("sha256")
    return sorted(name for name in (GHOST_NAME, RESTRIKE_NAME, END_NAME)
                  if name in manifest and manifest[name].get("network_sha256") != network_sha256)


def shipped_rescorers(*, manifest_path: Path = MANIFEST_PATH, network_sha256: str | None = None) -> Rescorers:
    """The rescorers in ``manifest_path`` fitted to the network with ``network_sha256`` (default: the
    network that manifest ships); each one missing or fitted to another network is ``None``."""
    manifest = read_manifest(manifest_path)
    if network_sha256 is None:
        network = manifest.get(NETWORK_NAME)
        if network is None:
            return Rescorers()
        network_sha256 = str(network["sha256"])

    def scorer(name: str) -> Scorer | None:
        entry = manifest.get(name)
        if entry is None:
            return None
        if entry.get("network_sha256") != network_sha256:
            log.warning("%s was fitted to another %s; decoding uses the fixed rule instead", name, NETWORK_NAME)
            return None
        model = load_model(name, device="cpu", manifest_path=manifest_path)
        probabilities: Scorer = model.probabilities
        return probabilities

    return Rescorers(ghost=scorer(GHOST_NAME), restrike=scorer(RESTRIKE_NAME), end=scorer(END_NAME))
