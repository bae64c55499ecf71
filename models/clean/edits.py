"""The edit list: one intermediate representation every exporter and REAPER write-back reads.

Times are seconds of the SOURCE files. ``events`` lists every detected
non-speech event with the action chosen for it; ``cuts`` lists the merged time
ranges removed from every track, which is all a consumer needs to ripple later
material (:func:`map_time`). ``<stem>.edits.json`` is this structure as JSON.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from models.clean.labels import EVENT_LABELS, EventLabel
from models.errors import UserInputError

Action = Literal["keep", "shorten", "attenuate", "cut", "repair"]
ACTIONS: tuple[Action, ...] = ("keep", "shorten", "attenuate", "cut", "repair")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Cut:
    """A time range removed from every track, in source seconds."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class EditEvent:
    """One detected non-speech event and what is done to it.

    ``track`` is the input index the event was heard on (``None``: all tracks,
    e.g. a pause in a multitrack session). Action parameters: ``gain_db`` for
    attenuate; ``cut_start_s``/``cut_end_s`` for shorten and cut (the part
    removed); ``kept_s`` for shorten (how long the pause remains).
    """

    start_s: float
    end_s: float
    label: EventLabel
    action: Action
    track: int | None = None
    confidence: float = 1.0
    gain_db: float | None = None
    cut_start_s: float | None = None
    cut_end_s: float | None = None
    kept_s: float | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4),
                                "label": self.label, "action": self.action, "track": self.track,
                                "confidence": round(self.confidence, 3)}
        for key in ("gain_db", "cut_start_s", "cut_end_s", "kept_s"):
            value = getattr(self, key)
            if value is not None:
                data[key] = round(value, 4)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EditEvent:
        label = data.get("label")
        action = data.get("action")
        if label not in EVENT_LABELS:
            raise UserInputError(f"event label {label!r} is not one of {', '.join(EVENT_LABELS)}")
        if action not in ACTIONS:
            raise UserInputError(f"event action {action!r} is not one of {', '.join(ACTIONS)}")
        optional = {key: float(data[key]) for key in ("gain_db", "cut_start_s", "cut_end_s", "kept_s")
                    if data.get(key) is not None}
        track = data.get("track")
        return cls(start_s=float(data["start_s"]), end_s=float(data["end_s"]), label=cast(EventLabel, label),
                   action=cast(Action, action), track=None if track is None else int(track),
                   confidence=float(data.get("confidence", 1.0)), **optional)


@dataclass(frozen=True)
class EditList:
    """Everything the clean job decided for one input (or one multitrack session)."""

    sample_rate: int
    duration_s: float
    events: tuple[EditEvent, ...]
    cuts: tuple[Cut, ...]
    crossfade_ms: float = 10.0
    sources: tuple[str, ...] = ()
    preset: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def removed_s(self) -> float:
        return sum(c.duration_s for c in self.cuts)

    @property
    def cleaned_duration_s(self) -> float:
        return self.duration_s - self.removed_s

    def events_for_track(self, track: int) -> list[EditEvent]:
        return [e for e in self.events if e.track is None or e.track == track]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "reamend.edits",
            "version": FORMAT_VERSION,
            "sample_rate": self.sample_rate,
            "duration_s": round(self.duration_s, 6),
            "cleaned_duration_s": round(self.cleaned_duration_s, 6),
            "crossfade_ms": self.crossfade_ms,
            "sources": list(self.sources),
            "preset": self.preset,
            "settings": dict(self.settings),
            "events": [e.to_json() for e in self.events],
            "cuts": [{"start_s": round(c.start_s, 6), "end_s": round(c.end_s, 6)} for c in self.cuts],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EditList:
        try:
            cuts = merge_cuts(Cut(float(c["start_s"]), float(c["end_s"])) for c in data.get("cuts", []))
            return cls(sample_rate=int(data["sample_rate"]), duration_s=float(data["duration_s"]),
                       events=tuple(EditEvent.from_json(e) for e in data.get("events", [])), cuts=cuts,
                       crossfade_ms=float(data.get("crossfade_ms", 10.0)),
                       sources=tuple(str(s) for s in data.get("sources", [])), preset=data.get("preset"),
                       settings=dict(data.get("settings") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserInputError(f"not a valid edit list: {exc}") from exc


def load_edits(path: str | Path) -> EditList:
    """Read ``<stem>.edits.json`` (as written by the clean job) back into an :class:`EditList`."""
    file_path = Path(path)
    try:
        data = json.loads(file_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserInputError(f"{file_path}: cannot read edit list ({exc})") from exc
    if not isinstance(data, dict):
        raise UserInputError(f"{file_path}: an edit list is a JSON object")
    return EditList.from_json(data)


def merge_cuts(cuts: Iterable[Cut], *, min_duration_s: float = 0.0) -> tuple[Cut, ...]:
    """Sort, drop empty ones and merge overlapping or touching cuts."""
    merged: list[Cut] = []
    for cut in sorted((c for c in cuts if c.end_s - c.start_s > min_duration_s), key=lambda c: c.start_s):
        if merged and cut.start_s <= merged[-1].end_s + 1e-9:
            last = merged[-1]
            merged[-1] = Cut(last.start_s, max(last.end_s, cut.end_s))
        else:
            merged.append(cut)
    return tuple(merged)


def map_time(t_s: float, cuts: Sequence[Cut]) -> float:
    """Where source time ``t_s`` lands in the cleaned audio (``cuts`` sorted, merged).

    Material after a cut moves earlier by the cut's length; a time inside a cut
    lands on the join, so a marker there survives at the edit point.
    """
    if not math.isfinite(t_s):
        raise ValueError(f"time must be finite, got {t_s}")
    starts = [c.start_s for c in cuts]
    index = bisect.bisect_right(starts, t_s)
    removed = sum(c.duration_s for c in cuts[:index])
    if index and t_s < cuts[index - 1].end_s:
        removed -= cuts[index - 1].end_s - t_s
    return t_s - removed
