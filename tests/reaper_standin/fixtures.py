"""pytest fixtures for the REAPER tests: an installed resource folder, a running stand-in, a bridge.

Import them into a test module with ``from tests.reaper_standin.fixtures import reaper  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from daemon.reaper.bridge import close_bridges, get_bridge
from daemon.reaper.install import install
from daemon.settings import Settings, load_settings
from tests.reaper_standin.harness import Standin, free_port


@dataclass
class ReaperEnv:
    standin: Standin
    settings: Settings
    resource: Path
    tmp: Path

    def run(self, batch: Any) -> Any:
        return get_bridge(self.settings).run(batch)


@pytest.fixture
def reaper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReaperEnv]:
    monkeypatch.setenv("REAMEND_REAPER_WEB_PORT", str(free_port()))
    monkeypatch.setenv("REAMEND_REAPER_SERVER_PORT", str(free_port()))
    monkeypatch.setenv("REAMEND_REAPER_TIMEOUT_S", "5")
    resource = tmp_path / "REAPER"
    resource.mkdir()
    (resource / "reaper.ini").write_text("[REAPER]\nreascript=1\n", encoding="utf-8")
    settings = load_settings()
    install(resource, settings)
    standin = Standin(resource, web_port=settings.reaper_web_port).start()
    try:
        yield ReaperEnv(standin=standin, settings=settings, resource=resource, tmp=tmp_path)
    finally:
        close_bridges()
        standin.stop()


def make_wav(path: Path, seconds: float, *, sr: int = 16000, seed: int = 0) -> Path:
    """A deterministic tone plus noise, 16-bit PCM, so bit-identity checks are meaningful."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    sf.write(path, audio.astype(np.float32), sr, subtype="PCM_16")
    return path


def one_item_project(source: Path, *, position_s: float = 2.0, length_s: float = 6.0, start_offset_s: float = 0.0,
                     playrate: float = 1.0, selected: bool = True,
                     time_selection: tuple[float, float] = (0.0, 0.0),
                     markers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"time_selection": list(time_selection), "markers": markers or [], "tracks": [
        {"name": "Voice", "items": [{"position_s": position_s, "length_s": length_s, "selected": selected,
                                     "takes": [{"source": str(source), "name": "voice take",
                                                "start_offset_s": start_offset_s, "playrate": playrate}]}]}]}
