"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, a kill -9 or a full disk part-way through leaves either the old file or
nothing at the target path, never a half-written one; and no output may ever
replace one of the user's input files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from models.errors import UserInputError

TEMP_PREFIX = ".reamend-"
TEMP_SUFFIX = ".partial"


def refuse_overwriting_inputs(target: Path, inputs: Iterable[Path]) -> None:
    """Raise if ``target`` is (or links to) one of ``inputs``: user audio is never overwritten."""
    target_resolved = target.resolve()
    for source in inputs:
        source_path = Path(source)
        same = target_resolved == source_path.resolve()
        if not same and target.exists() and source_path.exists():
            same = os.path.samefile(target, source_path)
        if same:
            raise UserInputError(f"refusing to overwrite the input file {source_path}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; rename it onto ``target`` on success.

    ``suffix`` lets format-sniffing writers (soundfile, matplotlib) see the real
    extension, e.g. ``".wav"``. On any exception the temporary file is removed.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix + TEMP_SUFFIX, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))


def is_temporary(path: Path) -> bool:
    """True for our own in-progress files (hot-folder watchers must ignore them)."""
    return path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())
