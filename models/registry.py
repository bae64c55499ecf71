"""Model registry: named architectures, checksummed weights, one instance per device.

A checkpoint is ``{"arch": str, "config": dict, "state_dict": ...}`` saved with
``torch.save`` and loaded with ``weights_only=True``: settings plus tensors, never
a pickled module. ``weights/manifest.json`` records each shipped file's sha256,
and loading refuses a file whose digest differs, so a truncated download or a
stale file is caught before it produces silent garbage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.errors import ModelError

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST_PATH = WEIGHTS_DIR / "manifest.json"

#: arch name -> constructor taking the checkpoint's config dict as keyword arguments.
_ARCHITECTURES: dict[str, Callable[..., Any]] = {}
#: (name, device, manifest file) -> model: a test's or a candidate's manifest never shadows the shipped one.
_cache: dict[tuple[str, str, str], Any] = {}
_cache_lock = threading.Lock()


def register_arch(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class decorator: make an ``nn.Module`` constructible from a checkpoint by name."""

    def decorate(cls: Callable[..., Any]) -> Callable[..., Any]:
        _ARCHITECTURES[name] = cls
        return cls

    return decorate


@dataclass(frozen=True)
class WeightStatus:
    name: str
    path: Path
    expected_sha256: str
    present: bool
    ok: bool
    size_bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(manifest_path: Path = MANIFEST_PATH) -> dict[str, dict[str, Any]]:
    """``{model name: {"file": str, "sha256": str, ...}}``; empty when no model ships yet."""
    if not manifest_path.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(manifest_path.read_text())
    return data


def update_manifest(name: str, weight_file: Path, *, extra: dict[str, Any] | None = None,
                    manifest_path: Path = MANIFEST_PATH) -> None:
    """Record ``weight_file``'s digest under ``name`` (training calls this after saving)."""
    manifest = read_manifest(manifest_path)
    entry: dict[str, Any] = {"file": weight_file.name, "sha256": sha256_of(weight_file)}
    entry.update(extra or {})
    manifest[name] = entry
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def weight_statuses(manifest_path: Path = MANIFEST_PATH) -> list[WeightStatus]:
    """Check every shipped weight file against the manifest (for ``reamend doctor``)."""
    statuses = []
    for name, entry in sorted(read_manifest(manifest_path).items()):
        path = manifest_path.parent / entry["file"]
        present = path.exists()
        statuses.append(WeightStatus(
            name=name, path=path, expected_sha256=entry["sha256"], present=present,
            ok=present and sha256_of(path) == entry["sha256"],
            size_bytes=path.stat().st_size if present else 0,
        ))
    return statuses


@lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (the AVX512-BF16 or AMX-BF16 instructions; Linux only).

    There a network may run under bfloat16 autocast in about half the time (the transcription networks do,
    with the same notes: run 10 scored 1.3438 on the 32 selection pieces against 1.3434 in float32);
    elsewhere bfloat16 is emulated and slower than float32.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(preferred: str = "auto") -> str:
    """``"auto"`` means CUDA, else Apple MPS, else CPU."""
    import torch

    if preferred != "auto":
        return preferred
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def save_checkpoint(path: Path, arch: str, config: dict[str, Any], state_dict: dict[str, Any],
                    **extra: Any) -> None:
    """Save a checkpoint in the registry's format (atomically)."""
    import torch

    from models.atomic import atomic_path

    payload = {"arch": arch, "config": config, "state_dict": state_dict, **extra}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint_file(path: Path, *, expected_sha256: str | None = None) -> dict[str, Any]:
    import torch

    if not path.exists():
        raise ModelError(f"model weights not found: {path} (run 'reamend doctor')")
    if expected_sha256 is not None and sha256_of(path) != expected_sha256:
        raise ModelError(f"checksum mismatch for {path}: the file is corrupt or not the shipped one")
    try:
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load model weights {path}: {exc}") from exc
    for key in ("arch", "config", "state_dict"):
        if key not in payload:
            raise ModelError(f"{path} is not a reamend checkpoint (missing {key!r})")
    return payload


def build_model(payload: dict[str, Any]) -> Any:
    """Construct the registered architecture from a loaded checkpoint, in eval mode."""
    arch = payload["arch"]
    if arch not in _ARCHITECTURES:
        raise ModelError(f"unknown model architecture {arch!r}; known: {sorted(_ARCHITECTURES)}")
    model = _ARCHITECTURES[arch](**payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"weights do not fit architecture {arch!r}: {exc}") from exc
    model.eval()
    return model


def load_model(name: str, *, device: str = "auto", manifest_path: Path = MANIFEST_PATH) -> Any:
    """Load a shipped model by manifest name, once per ``(name, device, manifest)`` per process."""
    resolved_device = pick_device(device)
    key = (name, resolved_device, str(manifest_path))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        manifest = read_manifest(manifest_path)
        if name not in manifest:
            raise ModelError(f"no shipped model named {name!r}; known: {sorted(manifest)}")
        entry = manifest[name]
        payload = load_checkpoint_file(manifest_path.parent / entry["file"], expected_sha256=entry["sha256"])
        _import_arch_module(payload["arch"])
        model = build_model(payload).to(resolved_device)
        log.info("loaded model %s (%s) on %s", name, payload["arch"], resolved_device)
        _cache[key] = model
        return model


def loaded_models() -> list[tuple[str, str]]:
    """``(name, device)`` of every model loaded in this process (for ``reamend status``)."""
    with _cache_lock:
        return sorted({(name, device) for name, device, _ in _cache})


def _import_arch_module(arch: str) -> None:
    """Architectures register on import; the arch name names its job package (and module)."""
    if arch in _ARCHITECTURES:
        return
    import importlib

    # "job.Class" lives in models/job/network.py, "job.module.Class" in models/job/module.py.
    parts = arch.split(".")
    module = f"models.{parts[0]}.{parts[1] if len(parts) > 2 else 'network'}"
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(f"cannot import the module defining {arch!r}: {exc}") from exc
