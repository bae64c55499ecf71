"""Atomic output: a writer killed part-way leaves no partial file at the target."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from models.atomic import atomic_path, is_temporary, write_text_atomic

ROOT = Path(__file__).resolve().parent.parent


def test_exception_removes_temp_and_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise ValueError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_success_replaces_target(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "a.txt", "new")
    assert target.read_text() == "new"
    assert not any(is_temporary(p) for p in tmp_path.iterdir())


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_kill_9_during_streaming_write_leaves_no_output(tmp_path: Path) -> None:
    target = tmp_path / "long.wav"
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from models.audio_io import AudioWriter
        block = np.zeros((48000, 2), dtype=np.float32)
        with AudioWriter({str(target)!r}, 48000, 2, subtype="PCM_16") as writer:
            for i in range(100000):
                writer.write(block)
                if i == 5:
                    print("writing", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    assert not target.exists()
    leftovers = list(tmp_path.iterdir())
    assert leftovers and all(is_temporary(p) for p in leftovers)  # recognisable, ignorable debris
