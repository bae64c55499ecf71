"""Offline cleaning of a closed REAPER project: the same edits as the live path, on the .RPP text.

An .RPP is nested ``<TAG`` blocks (parsed with the ``rpp`` package). An ITEM
holds its first take inline and each further take after a ``TAKE`` line
(``TAKE SEL`` marks the active one); ``SOFFS``/``PLAYRATE`` are per take;
``MARKER`` lines in the project hold markers, and regions as two lines (start
with the name, end without) sharing a number with flag 1. :class:`RppOps`
implements :class:`daemon.reaper.timeline.TimelineOps` on that tree, so
:func:`daemon.reaper.timeline.apply_edit_plan` drives a file exactly as it
drives REAPER. The original file is only read: results go to a new file.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rpp

from daemon.reaper.timeline import (
    EPS_S,
    MarkerInfo,
    Mode,
    PlacedItem,
    apply_edit_plan,
    apply_review,
    edits_for_source,
    plan_clean,
)
from models.atomic import write_text_atomic
from models.clean.edits import EditList, map_time, merge_cuts
from models.errors import UserInputError


def _new_guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


def _fmt(value: float) -> str:
    return f"{value:.14g}"


def _lines(element: rpp.Element) -> list[list[str]]:
    return [c for c in element.children if isinstance(c, list)]


def _get(element: rpp.Element, key: str) -> list[str] | None:
    return next((c for c in element.children if isinstance(c, list) and c and c[0] == key), None)


def _set(element: rpp.Element, key: str, values: list[str], *, before: str | None = None) -> None:
    line = _get(element, key)
    if line is not None:
        line[1:] = values
        return
    index = next((i for i, c in enumerate(element.children) if isinstance(c, list) and c and c[0] == before),
                 len(element.children)) if before else len(element.children)
    element.children.insert(index, [key, *values])


# Lines that can open the first take. VOLPAN is not one: before NAME it is the item's volume.
TAKE_KEYS = ("NAME", "SOFFS", "PLAYRATE", "GUID", "SOURCE")


@dataclass
class TakeView:
    """One take's lines inside an ITEM: indices into the item's children, first to last."""

    start: int
    end: int  # exclusive

    def lines(self, item: rpp.Element) -> list[Any]:
        return item.children[self.start:self.end]


def takes_of(item: rpp.Element) -> list[TakeView]:
    """Takes start at the first take line (NAME) and at every ``TAKE`` line after it."""
    starts: list[int] = []
    for index, child in enumerate(item.children):
        key = child[0] if isinstance(child, list) and child else getattr(child, "tag", None)
        if key == "TAKE" or (not starts and key in TAKE_KEYS):
            starts.append(index)
    bounds = [*starts, len(item.children)]
    return [TakeView(bounds[i], bounds[i + 1]) for i in range(len(starts))]


def active_take(item: rpp.Element) -> TakeView | None:
    takes = takes_of(item)
    for take in takes[1:]:
        first = item.children[take.start]
        if isinstance(first, list) and first[1:2] == ["SEL"]:
            return take
    return takes[0] if takes else None


def _take_value(item: rpp.Element, take: TakeView, key: str) -> list[str] | None:
    return next((c for c in take.lines(item) if isinstance(c, list) and c and c[0] == key), None)


def _take_source(item: rpp.Element, take: TakeView) -> rpp.Element | None:
    return next((c for c in take.lines(item) if isinstance(c, rpp.Element) and c.tag == "SOURCE"), None)


class RppProject:
    def __init__(self, root: rpp.Element, path: Path) -> None:
        self.root = root
        self.path = path

    @classmethod
    def load(cls, path: Path) -> RppProject:
        try:
            root = rpp.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UserInputError(f"cannot read {path}: {exc}") from exc
        except Exception as exc:  # the rpp parser raises plain exceptions on syntax errors
            raise UserInputError(f"{path} is not a REAPER project file ({exc})") from exc
        if root.tag != "REAPER_PROJECT":
            raise UserInputError(f"{path} is not a REAPER project file")
        return cls(root, path)

    def save(self, out: Path) -> None:
        if out.resolve() == self.path.resolve():
            raise UserInputError("refusing to overwrite the original project; choose another --out")
        write_text_atomic(out, rpp.dumps(self.root))

    def tracks(self) -> list[rpp.Element]:
        return [c for c in self.root.children if isinstance(c, rpp.Element) and c.tag == "TRACK"]

    def resolve_source(self, file_value: str) -> str:
        path = Path(file_value)
        return str(path if path.is_absolute() else (self.path.parent / path).resolve())

    def placed_items(self) -> list[PlacedItem]:
        """Audio items with the active take's source, in project placement terms."""
        placed = []
        for track_index, track in enumerate(self.tracks()):
            track_key = track.attrib[0] if track.attrib else f"track{track_index}"
            for item in track.findall("ITEM"):
                take = active_take(item)
                source = _take_source(item, take) if take else None
                file_line = source.find("FILE") if source is not None else None
                if take is None or source is None or file_line is None or source.attrib[:1] == ["MIDI"]:
                    continue
                soffs = _take_value(item, take, "SOFFS")
                rate = _take_value(item, take, "PLAYRATE")
                placed.append(PlacedItem(
                    key=(_get(item, "IGUID") or ["", ""])[1], track_key=track_key,
                    source=self.resolve_source(file_line[1]), position_s=float(_get(item, "POSITION")[1]),  # type: ignore[index]
                    length_s=float(_get(item, "LENGTH")[1]),  # type: ignore[index]
                    start_offset_s=float(soffs[1]) if soffs else 0.0, playrate=float(rate[1]) if rate else 1.0))
        return placed


class RppOps:
    """:class:`daemon.reaper.timeline.TimelineOps` on a parsed .RPP (items are ITEM elements)."""

    def __init__(self, project: RppProject) -> None:
        self.project = project

    def _track_of(self, item: rpp.Element) -> rpp.Element:
        return next(t for t in self.project.tracks() if any(c is item for c in t.children))

    def all_items(self) -> list[rpp.Element]:
        return [i for t in self.project.tracks() for i in t.findall("ITEM")]

    def item_key(self, item: rpp.Element) -> str:
        return (_get(item, "IGUID") or ["", ""])[1]

    def bounds(self, item: rpp.Element) -> tuple[float, float]:
        return float(_get(item, "POSITION")[1]), float(_get(item, "LENGTH")[1])  # type: ignore[index]

    def split(self, item: rpp.Element, at_s: float) -> rpp.Element:
        """Like REAPER's split: the right part is a copy whose every take starts later in its source."""
        pos, length = self.bounds(item)
        cut = at_s - pos
        if not EPS_S < cut < length - EPS_S:
            raise ValueError(f"split point {at_s} s is outside the item")
        right = copy.deepcopy(item)
        _set(right, "POSITION", [_fmt(at_s)])
        _set(right, "LENGTH", [_fmt(length - cut)])
        _set(right, "IGUID", [_new_guid()])
        right.children = [c for c in right.children if not (isinstance(c, list) and c and c[0] == "IID")]
        for take in takes_of(right):
            rate_line = _take_value(right, take, "PLAYRATE")
            rate = float(rate_line[1]) if rate_line else 1.0
            soffs = _take_value(right, take, "SOFFS")
            offset = float(soffs[1]) if soffs else 0.0
            guid = _take_value(right, take, "GUID")
            if soffs is not None:
                soffs[1:] = [_fmt(offset + cut * rate)]
            else:
                right.children.insert(take.end, ["SOFFS", _fmt(offset + cut * rate)])
            if guid is not None:
                guid[1:] = [_new_guid()]
        self._set_fade(right, "FADEIN", 0.0)
        _set(item, "LENGTH", [_fmt(cut)])
        self._set_fade(item, "FADEOUT", 0.0)
        track = self._track_of(item)
        index = next(i for i, c in enumerate(track.children) if c is item)
        track.children.insert(index + 1, right)
        return right

    def delete(self, item: rpp.Element) -> None:
        track = self._track_of(item)
        track.children = [c for c in track.children if c is not item]

    def set_bounds(self, item: rpp.Element, position_s: float, length_s: float) -> None:
        _set(item, "POSITION", [_fmt(position_s)])
        _set(item, "LENGTH", [_fmt(length_s)])

    @staticmethod
    def _set_fade(item: rpp.Element, key: str, length_s: float) -> None:
        line = _get(item, key)
        if line is None:
            _set(item, key, ["1", _fmt(length_s), "0", "1", "0", "0", "0"], before="IGUID")
        else:
            line[2] = _fmt(length_s)

    def set_fades(self, item: rpp.Element, *, fadein_s: float | None = None, fadeout_s: float | None = None) -> None:
        if fadein_s is not None:
            self._set_fade(item, "FADEIN", fadein_s)
        if fadeout_s is not None:
            self._set_fade(item, "FADEOUT", fadeout_s)

    def scale_volume(self, item: rpp.Element, factor: float) -> None:
        """Item volume: a VOLPAN line before the first take's lines (take VOLPANs come after NAME)."""
        takes = takes_of(item)
        first_take = takes[0].start if takes else len(item.children)
        line = next((c for c in item.children[:first_take] if isinstance(c, list) and c and c[0] == "VOLPAN"), None)
        if line is None:
            item.children.insert(first_take, ["VOLPAN", _fmt(factor), "0", "1", "-1"])
        else:
            line[1] = _fmt(float(line[1]) * factor)

    def _marker_lines(self) -> list[list[str]]:
        return [c for c in _lines(self.project.root) if c and c[0] == "MARKER"]

    def _parse_markers(self) -> list[tuple[bool, float, float, int, list[str], list[str] | None]]:
        """(isrgn, pos, end, number, start line, end line) in file order."""
        found: list[list[Any]] = []
        open_regions: dict[int, list[Any]] = {}
        for line in self._marker_lines():
            number, pos = int(line[1]), float(line[2])
            flags = int(line[4]) if len(line) > 4 else 0
            if flags & 1 and number in open_regions:
                entry = open_regions.pop(number)
                entry[2], entry[5] = pos, line
            else:
                entry = [bool(flags & 1), pos, pos, number, line, None]
                found.append(entry)
                if flags & 1:
                    open_regions[number] = entry
        return [tuple(e) for e in found]

    def markers(self) -> list[MarkerInfo]:
        ordered = sorted(self._parse_markers(), key=lambda f: (f[1], f[0], f[3]))
        return [MarkerInfo(index=i, isrgn=f[0], pos_s=f[1], end_s=f[2], number=f[3]) for i, f in enumerate(ordered)]

    def move_marker(self, marker: MarkerInfo, pos_s: float, end_s: float) -> None:
        for isrgn, pos, _, number, start_line, end_line in self._parse_markers():
            if (isrgn, number) == (marker.isrgn, marker.number) and abs(pos - marker.pos_s) < 1e-9:
                start_line[2] = _fmt(pos_s)
                if end_line is not None:
                    end_line[2] = _fmt(end_s)
                return

    def add_region(self, start_s: float, end_s: float, name: str) -> None:
        used = {int(ln[1]) for ln in self._marker_lines() if len(ln) > 4 and int(ln[4]) & 1}
        number = next(n for n in range(1, len(used) + 2) if n not in used)
        root = self.project.root
        index = max((i for i, c in enumerate(root.children) if isinstance(c, list) and c and c[0] == "MARKER"),
                    default=next((i for i, c in enumerate(root.children) if isinstance(c, rpp.Element)),
                                 len(root.children)) - 1)
        root.children[index + 1:index + 1] = [["MARKER", str(number), _fmt(start_s), name, "1"],
                                              ["MARKER", str(number), _fmt(end_s), "", "1"]]

    def add_take(self, item: rpp.Element, path: Path, *, name: str, offset_s: float, playrate: float) -> None:
        """A new active take playing ``path`` (render mode), appended after the existing takes."""
        for take in takes_of(item)[1:]:
            first = item.children[take.start]
            if isinstance(first, list) and first[1:2] == ["SEL"]:
                first[1:] = []
        item.children += [["TAKE", "SEL"], ["NAME", name], ["VOLPAN", "1", "0", "1", "-1"],
                          ["SOFFS", _fmt(offset_s)], ["PLAYRATE", _fmt(playrate), "1", "0", "-1", "0", "0.0025"],
                          ["CHANMODE", "0"], ["GUID", _new_guid()],
                          rpp.Element(tag="SOURCE", attrib=["WAVE"], children=[["FILE", str(path)]])]



def clean_project_file(project: RppProject, edits: Sequence[tuple[EditList, str | None]],
                       cleaned_audio: dict[str, Path], *, mode: Mode) -> dict[str, Any]:
    """Apply a clean job's results to a parsed project, as the live write-back would."""
    placed = project.placed_items()
    ops = RppOps(project)
    if mode == "render":
        items = {ops.item_key(i): i for i in ops.all_items()}
        rendered = 0
        for item in placed:
            audio = cleaned_audio.get(item.source)
            if audio is None:
                continue
            cuts = merge_cuts(c for edit_list, _ in edits_for_source(edits, item.source) for c in edit_list.cuts)
            start = map_time(item.start_offset_s, cuts)
            end = map_time(item.start_offset_s + item.length_s * item.playrate, cuts)
            element = items[item.key]
            ops.add_take(element, audio, name=f"{Path(item.source).stem} (reamend clean)", offset_s=start,
                         playrate=item.playrate)
            ops.set_bounds(element, item.position_s, (end - start) / item.playrate)
            rendered += 1
        return {"mode": mode, "rendered_takes": rendered}
    plan = plan_clean(placed, edits)
    if mode == "review":
        return {"mode": mode, "regions": apply_review(ops, plan)}
    return {"mode": mode, **apply_edit_plan(ops, plan)}
