"""Gaps: where audio is missing, and how a caller's gap list becomes a safe one.

Callers give gaps in seconds (a JSON list, ``--gap START-END``) or the detector
finds them. Before filling, the list is made sane: clipped to the file, overlaps
merged, empty or impossible entries dropped, each fix reported as a message so
the user sees why the output differs from what they asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from models.errors import UserInputError

GapKind = Literal["manual", "digital_zeros", "held_value", "tape", "click"]


@dataclass(frozen=True)
class Gap:
    """Missing samples ``[start, end)`` (frame indices) on one channel or all (``channel=None``)."""

    start: int
    end: int
    kind: GapKind = "manual"
    confidence: float = 1.0
    channel: int | None = None

    @property
    def length(self) -> int:
        return self.end - self.start

    def seconds(self, sr: int) -> tuple[float, float]:
        return self.start / sr, self.end / sr

    def to_json(self, sr: int) -> dict[str, Any]:
        return {"start_s": round(self.start / sr, 6), "end_s": round(self.end / sr, 6),
                "duration_ms": round(1000 * self.length / sr, 3), "kind": self.kind,
                "confidence": round(float(self.confidence), 3), "channel": self.channel}


@dataclass(frozen=True)
class GapList:
    """Sanitized gaps sorted by start, plus what was changed to get there."""

    gaps: tuple[Gap, ...]
    messages: tuple[str, ...] = ()


def parse_gap_range(text: str) -> tuple[float, float]:
    """``"12.5-13.1"`` → ``(12.5, 13.1)`` seconds; the CLI's ``--gap`` syntax."""
    head, sep, tail = text.strip().partition("-")
    if not sep:
        raise UserInputError(f"gap {text!r}: expected START-END in seconds, e.g. 12.5-13.1")
    try:
        start_s, end_s = float(head), float(tail)
    except ValueError:
        raise UserInputError(f"gap {text!r}: START and END must be numbers of seconds") from None
    return start_s, end_s


def gaps_from_json(data: Any) -> list[tuple[float, float]]:
    """Accept ``[{"start_s", "end_s"}, ...]`` or ``{"gaps": [...]}`` (our own ``.gaps.json``)."""
    if isinstance(data, Mapping) and "gaps" in data:
        data = data["gaps"]
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise UserInputError('gap list must be a JSON list of {"start_s": ..., "end_s": ...}')
    ranges = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping) or "start_s" not in item or "end_s" not in item:
            raise UserInputError(f'gap #{index}: expected an object with "start_s" and "end_s"')
        try:
            ranges.append((float(item["start_s"]), float(item["end_s"])))
        except (TypeError, ValueError):
            raise UserInputError(f"gap #{index}: start_s and end_s must be numbers") from None
    return ranges


def sanitize_gaps(
    ranges_s: Iterable[tuple[float, float]],
    *,
    sr: int,
    frames: int,
    kind: GapKind = "manual",
) -> GapList:
    """Turn second ranges into frame gaps inside the file; never raises for fixable lists.

    Rules (documented in docs/inpaint.md): END not after START is an error,
    because it usually means a typo; a gap wholly past the end is dropped
    with a message (the list was probably made for another file); a gap crossing
    the end or start is clipped; overlapping or touching gaps are merged.
    """
    duration_s = frames / sr
    messages: list[str] = []
    gaps: list[Gap] = []
    for start_s, end_s in ranges_s:
        label = f"gap {start_s:g}-{end_s:g} s"
        if not (start_s == start_s and end_s == end_s):  # NaN
            raise UserInputError(f"{label}: not a number")
        if end_s <= start_s:
            raise UserInputError(f"{label}: END must be after START")
        if start_s >= duration_s or end_s <= 0:
            messages.append(f"{label} lies outside the file ({duration_s:.3f} s long): skipped;"
                            " was the gap list made for another file?")
            continue
        if start_s < 0 or end_s > duration_s:
            messages.append(f"{label} crosses the file's edge: clipped to the file")
        start = max(0, round(start_s * sr))
        end = min(frames, round(end_s * sr))
        if end > start:
            gaps.append(Gap(start=start, end=end, kind=kind))
    merged = merge_gaps(gaps)
    if len(merged) < len(gaps):
        messages.append(f"{len(gaps) - len(merged)} overlapping or touching gap(s) merged")
    return GapList(gaps=tuple(merged), messages=tuple(messages))


def merge_gaps(gaps: Iterable[Gap], *, min_separation: int = 0) -> list[Gap]:
    """Merge gaps closer than ``min_separation`` frames (per channel); keeps the stronger kind."""
    by_channel: dict[int | None, list[Gap]] = {}
    for gap in sorted(gaps, key=lambda g: (g.start, g.end)):
        bucket = by_channel.setdefault(gap.channel, [])
        if bucket and gap.start <= bucket[-1].end + min_separation:
            last = bucket[-1]
            strongest = last if last.confidence >= gap.confidence else gap
            bucket[-1] = replace(strongest, start=last.start, end=max(last.end, gap.end),
                                 confidence=max(last.confidence, gap.confidence))
        else:
            bucket.append(gap)
    return sorted((g for bucket in by_channel.values() for g in bucket), key=lambda g: (g.start, g.channel or 0))
