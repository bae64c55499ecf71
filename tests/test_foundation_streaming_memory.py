"""Streaming a long file keeps memory bounded (peak RSS measured in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from models.audio_io import AudioWriter

ROOT = Path(__file__).resolve().parent.parent
MINUTES = 20


def test_stream_long_stereo_file_with_bounded_rss(tmp_path: Path) -> None:
    source = tmp_path / "long.wav"
    block = (np.random.default_rng(0).uniform(-0.5, 0.5, size=(48000 * 10, 2))).astype(np.float32)
    with AudioWriter(source, 48000, 2, subtype="PCM_16") as writer:
        for _ in range(MINUTES * 6):
            writer.write(block)
    # 20 min of 48 kHz stereo is 115 M samples: 920 MB as float64, 460 MB as float32.
    script = textwrap.dedent(f"""
        import json, resource
        from models.audio_io import AudioWriter, iter_blocks, audio_info
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        info = audio_info({str(source)!r})
        frames = 0
        with AudioWriter({str(tmp_path / "out.flac")!r}, info.sample_rate, info.channels,
                         subtype=info.subtype) as writer:
            for start, block in iter_blocks({str(source)!r}, 48000 * 5):
                writer.write(block * 0.5)
                frames += block.shape[0]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"frames": frames, "base_kb": base, "peak_kb": peak}}))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    stats = json.loads(result.stdout)
    assert stats["frames"] == MINUTES * 60 * 48000
    growth_mb = (stats["peak_kb"] - stats["base_kb"]) / 1024
    assert growth_mb < 80, f"streaming grew RSS by {growth_mb:.0f} MB"
