"""Extra selection pieces never share music with the benchmark pieces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from models.transcribe import dataset


def _fake_validation(names: dict[int, str], calls: list[int]) -> Callable[..., list[dataset.ValidationPiece]]:
    def build(cache_dir: Path, *, count: int = 24, duration_s: float = 30.0,
              start: int = 0) -> list[dataset.ValidationPiece]:
        calls.extend(range(start, start + count))
        return [dataset.ValidationPiece(name=names[i], audio={}, notes=cache_dir / f"{i}.json")
                for i in range(start, start + count)]
    return build


def test_pieces_whose_score_a_benchmark_piece_uses_are_skipped(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    names = {32: "bach/bwv183.5", 33: "alberti-1", 34: "bach/bwv404", 35: "runs-2", 36: "bach/bwv78.7",
             37: "chords-3"}
    calls: list[int] = []
    monkeypatch.setattr(dataset, "build_validation", _fake_validation(names, calls))
    chosen = dataset.extra_selection_pieces(tmp_path, count=3, avoid={"bach/bwv183.5", "bach/bwv78.7"},
                                            first_index=32)
    assert [p.name for p in chosen] == ["alberti-1", "bach/bwv404", "runs-2"]
    assert calls == [32, 33, 34, 35]


def test_the_search_gives_up_rather_than_render_forever(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    names = {i: "bach/bwv183.5" for i in range(32, 32 + 16)}
    calls: list[int] = []
    monkeypatch.setattr(dataset, "build_validation", _fake_validation(names, calls))
    assert dataset.extra_selection_pieces(tmp_path, count=2, avoid={"bach/bwv183.5"}, first_index=32) == []
    assert len(calls) == 16
