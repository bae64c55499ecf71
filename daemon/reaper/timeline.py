"""Cleaning edits in project time, planned once and applied to a live REAPER or a closed .RPP.

The clean job speaks source seconds (:mod:`models.clean.edits`); a project
places each source at an item position, with a start offset and a play rate.
:func:`plan_clean` turns the edit lists into project-time decisions, and
:func:`apply_edit_plan` carries them out through a small :class:`TimelineOps`
interface that the live REAPER adapter (``writeback.py``) and the offline .RPP
adapter (``rppfile.py``) both implement, so both paths make the same edits:

- time is removed only where every cleaned track can lose it (a track with no
  item there counts as removable), and removal ripples every track, markers and
  regions, so chapter markers keep pointing at the same words;
- attenuations (breaths) touch only the item they were heard on;
- every join gets a short crossfade: the piece before it is extended over the
  join and faded out while the piece after it fades in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from models.clean.edits import EditList

Mode = Literal["review", "edit", "render"]
MODES: tuple[Mode, ...] = ("review", "edit", "render")
EPS_S = 1e-6


@dataclass(frozen=True)
class PlacedItem:
    """One audio item as the project places its source (captured by the action or read from a .RPP)."""

    key: str  # item GUID
    track_key: str
    source: str
    position_s: float
    length_s: float
    start_offset_s: float
    playrate: float

    def to_project(self, source_s: float) -> float:
        return self.position_s + (source_s - self.start_offset_s) / self.playrate

    def project_range(self, start_s: float, end_s: float) -> tuple[float, float] | None:
        """A source range mapped into this item, clipped to what the item shows."""
        start = max(self.to_project(start_s), self.position_s)
        end = min(self.to_project(end_s), self.position_s + self.length_s)
        return (start, end) if end - start > EPS_S else None


@dataclass(frozen=True)
class Attenuation:
    item_key: str
    start_s: float
    end_s: float
    gain_db: float


@dataclass(frozen=True)
class ReviewRegion:
    start_s: float
    end_s: float
    name: str


@dataclass(frozen=True)
class CleanPlan:
    """Project-time decisions; ``removals`` sorted and disjoint."""

    removals: tuple[tuple[float, float], ...]
    attenuations: tuple[Attenuation, ...]
    review: tuple[ReviewRegion, ...]
    crossfade_s: float

    @property
    def removed_s(self) -> float:
        return sum(end - start for start, end in self.removals)


def _merge(ranges: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(r for r in ranges if r[1] - r[0] > EPS_S):
        if merged and start <= merged[-1][1] + EPS_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            start, end = max(s1, s2), min(e1, e2)
            if end - start > EPS_S:
                out.append((start, end))
    return _merge(out)


def _complement(ranges: Sequence[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    out, cursor = [], lo
    for start, end in ranges:
        if start > cursor:
            out.append((cursor, min(start, hi)))
        cursor = max(cursor, end)
    if cursor < hi:
        out.append((cursor, hi))
    return [r for r in out if r[1] - r[0] > EPS_S]


def edits_for_source(edits: Sequence[tuple[EditList, str | None]], source: str) -> list[tuple[EditList, int | None]]:
    """The edit lists that speak about ``source``, with its track index inside each list.

    A multitrack job writes its one session list beside every input: it counts once.
    """
    found: list[tuple[EditList, int | None]] = []
    sessions: set[tuple[str, ...]] = set()
    for edit_list, output_source in edits:
        if edit_list.sources and source in edit_list.sources:
            if edit_list.sources not in sessions:
                sessions.add(edit_list.sources)
                found.append((edit_list, edit_list.sources.index(source)))
        elif output_source == source:
            found.append((edit_list, None))
    return found


def plan_clean(items: Sequence[PlacedItem], edits: Sequence[tuple[EditList, str | None]]) -> CleanPlan:
    """Project-time removals, attenuations and review regions for ``items``.

    ``edits`` pairs each edit list with the input file it was written for (the
    job output's ``source``); multitrack lists name their inputs in ``sources``.
    """
    cuts_by_track: dict[str, list[tuple[float, float]]] = {}
    cover_by_track: dict[str, list[tuple[float, float]]] = {}
    attenuations: list[Attenuation] = []
    review: list[ReviewRegion] = []
    crossfade_s = 0.01
    for item in items:
        lists = edits_for_source(edits, item.source)
        if not lists:
            continue  # not analysed: it only moves with the ripple, it has no say in what is removed
        cover_by_track.setdefault(item.track_key, []).append((item.position_s, item.position_s + item.length_s))
        cuts = cuts_by_track.setdefault(item.track_key, [])
        for edit_list, track_index in lists:
            crossfade_s = edit_list.crossfade_ms / 1000.0
            cuts += [r for c in edit_list.cuts if (r := item.project_range(c.start_s, c.end_s))]
            for event in edit_list.events:
                if track_index is not None and event.track not in (None, track_index):
                    continue
                span = item.project_range(event.start_s, event.end_s)
                if span is None:
                    continue
                name = event.label if event.action == "keep" else f"{event.label}: {event.action}"
                review.append(ReviewRegion(span[0], span[1], name))
                if event.action == "attenuate" and event.gain_db is not None:
                    attenuations.append(Attenuation(item.key, span[0], span[1], event.gain_db))
    removals: list[tuple[float, float]] | None = None
    if cover_by_track:
        lo = min(s for spans in cover_by_track.values() for s, _ in spans)
        hi = max(e for spans in cover_by_track.values() for _, e in spans)
        for track, cuts in cuts_by_track.items():
            removable = _merge(_merge(cuts) + _complement(_merge(cover_by_track[track]), lo, hi))
            removals = removable if removals is None else _intersect(removals, removable)
        # Time no cleaned track covers at all (between takes) is not ours to remove.
        removals = _intersect(removals or [], _merge(s for spans in cover_by_track.values() for s in spans))
    kept_attenuations = tuple(a for a in attenuations
                              if not any(s <= a.start_s and a.end_s <= e for s, e in removals or []))
    return CleanPlan(removals=tuple(removals or []), attenuations=kept_attenuations,
                     review=tuple(sorted(review, key=lambda r: r.start_s)), crossfade_s=crossfade_s)


def ripple_time(t_s: float, removals: Sequence[tuple[float, float]]) -> float:
    """Where project time ``t_s`` lands once ``removals`` are gone (inside one: on the join)."""
    shift = 0.0
    for start, end in removals:
        if t_s >= end:
            shift += end - start
        elif t_s > start:
            shift += t_s - start
    return t_s - shift


# --- applying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkerInfo:
    index: int  # enumeration index (markers and regions together, by position)
    isrgn: bool
    pos_s: float
    end_s: float
    number: int


class TimelineOps(Protocol):
    """What applying a plan needs from a project, live or offline. Item refs are opaque."""

    def all_items(self) -> list[Any]: ...
    def item_key(self, item: Any) -> str: ...
    def bounds(self, item: Any) -> tuple[float, float]: ...  # (position_s, length_s)
    def split(self, item: Any, at_s: float) -> Any: ...  # returns the right part
    def delete(self, item: Any) -> None: ...
    def set_bounds(self, item: Any, position_s: float, length_s: float) -> None: ...
    def set_fades(self, item: Any, *, fadein_s: float | None = None, fadeout_s: float | None = None) -> None: ...
    def scale_volume(self, item: Any, factor: float) -> None: ...
    def markers(self) -> list[MarkerInfo]: ...
    def move_marker(self, marker: MarkerInfo, pos_s: float, end_s: float) -> None: ...
    def add_region(self, start_s: float, end_s: float, name: str) -> None: ...


def apply_review(ops: TimelineOps, plan: CleanPlan) -> int:
    for region in plan.review:
        ops.add_region(region.start_s, region.end_s, f"reamend {region.name}")
    return len(plan.review)


def apply_edit_plan(ops: TimelineOps, plan: CleanPlan) -> dict[str, Any]:
    """Attenuate first (in original time), then remove time from the latest cut backwards."""
    attenuated = sum(_attenuate(ops, a, plan.crossfade_s) for a in plan.attenuations)
    for start, end in sorted(plan.removals, reverse=True):
        _remove(ops, start, end, plan.crossfade_s)
    _ripple_markers(ops, plan.removals)
    return {"removed_s": round(plan.removed_s, 6), "cuts": len(plan.removals), "attenuated": attenuated,
            "removals": [[round(start, 6), round(end, 6)] for start, end in plan.removals]}


def _attenuate(ops: TimelineOps, att: Attenuation, xf_s: float) -> int:
    for item in ops.all_items():
        if ops.item_key(item) != att.item_key:
            continue
        pos, length = ops.bounds(item)
        if not (pos - EPS_S <= att.start_s and att.end_s <= pos + length + EPS_S):
            continue
        left = item
        middle = ops.split(left, att.start_s) if att.start_s > pos + EPS_S else left
        if att.end_s < pos + length - EPS_S:
            right = ops.split(middle, att.end_s)
            _crossfade(ops, middle, right, xf_s)
        if middle is not left:
            _crossfade(ops, left, middle, xf_s)
        ops.scale_volume(middle, 10 ** (att.gain_db / 20))
        return 1
    return 0


def _crossfade(ops: TimelineOps, before: Any, after: Any, xf_s: float) -> None:
    """Extend ``before`` over the join and fade it out while ``after`` fades in: no click, no dip."""
    pos, length = ops.bounds(before)
    ops.set_bounds(before, pos, length + xf_s)
    ops.set_fades(before, fadeout_s=xf_s)
    ops.set_fades(after, fadein_s=xf_s)


def _remove(ops: TimelineOps, start: float, end: float, xf_s: float) -> None:
    duration = end - start
    joins: list[tuple[Any, Any]] = []
    for item in ops.all_items():
        pos, length = ops.bounds(item)
        item_end = pos + length
        if item_end <= start + EPS_S:
            continue
        if pos >= end - EPS_S:
            ops.set_bounds(item, pos - duration, length)
            continue
        left = None
        if pos < start - EPS_S:
            left, item = item, ops.split(item, start)
        if item_end > end + EPS_S:
            tail = ops.split(item, end)
            ops.delete(item)
            tail_pos, tail_len = ops.bounds(tail)
            ops.set_bounds(tail, tail_pos - duration, tail_len)
            if left is not None:
                joins.append((left, tail))
            else:
                ops.set_fades(tail, fadein_s=xf_s)
        else:
            ops.delete(item)
            if left is not None:
                ops.set_fades(left, fadeout_s=xf_s)
    for before, after in joins:
        _crossfade(ops, before, after, xf_s)


def _ripple_markers(ops: TimelineOps, removals: Sequence[tuple[float, float]]) -> None:
    if not removals:
        return
    # Moving one marker can re-sort the enumeration; positions computed first, applied by identity.
    for marker in ops.markers():
        pos, end = ripple_time(marker.pos_s, removals), ripple_time(marker.end_s, removals)
        if abs(pos - marker.pos_s) > EPS_S or abs(end - marker.end_s) > EPS_S:
            ops.move_marker(marker, pos, end)


def mode_from(edit_lists: Sequence[EditList], explicit: str | None, preset_mode: str | None = None) -> Mode:
    """The mode asked for, else the preset's ``reaper_mode``, else what the preset decided:
    a preset that only labels (every action "keep") gets review regions, any other gets edits."""
    decided = any(e.action != "keep" for edit_list in edit_lists for e in edit_list.events)
    value = explicit or preset_mode or ("edit" if decided else "review")
    if value not in MODES:
        raise ValueError(f"write-back mode {value!r} is not one of {', '.join(MODES)}")
    return value
