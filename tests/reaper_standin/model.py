"""The stand-in's in-memory REAPER project, saved and loaded as a real .RPP text file.

Only what reamend touches is modelled: tracks, items with several takes, audio
and MIDI sources, markers and regions, the time selection, item selection, ext
state and the undo history. Saving writes the same structure REAPER writes
(``<ITEM`` with the first take inline and ``TAKE`` lines before the others,
``MARKER`` lines, MIDI ``E`` events at 960 PPQ) so tests can inspect results
in the file format users see, and a "restarted REAPER" can re-open it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import rpp
import soundfile as sf

PPQ = 960


def new_guid() -> str:
    return "{" + str(uuid.uuid4()).upper() + "}"


@dataclass
class Note:
    start_ppq: float
    end_ppq: float
    chan: int
    pitch: int
    vel: int
    selected: bool = False
    muted: bool = False


@dataclass
class Source:
    """A media source; audio facts come from the file itself, as REAPER reads them."""

    kind: str  # "WAVE" or "MIDI"
    path: str = ""
    notes: list[Note] = field(default_factory=list)
    midi_length_s: float = 0.0

    @property
    def length_s(self) -> float:
        if self.kind == "MIDI":
            return self.midi_length_s
        try:
            return float(sf.info(self.path).duration)
        except (OSError, RuntimeError):
            return 0.0

    @property
    def sample_rate(self) -> int:
        try:
            return int(sf.info(self.path).samplerate) if self.kind != "MIDI" else 0
        except (OSError, RuntimeError):
            return 0

    @property
    def channels(self) -> int:
        try:
            return int(sf.info(self.path).channels) if self.kind != "MIDI" else 1
        except (OSError, RuntimeError):
            return 0


@dataclass
class Take:
    source: Source | None
    name: str = ""
    guid: str = field(default_factory=new_guid)
    start_offset_s: float = 0.0
    playrate: float = 1.0
    volume: float = 1.0


@dataclass
class Item:
    position_s: float
    length_s: float
    takes: list[Take] = field(default_factory=list)
    active: int = 0
    selected: bool = False
    guid: str = field(default_factory=new_guid)
    volume: float = 1.0
    fadein_s: float = 0.0
    fadeout_s: float = 0.0
    mute: bool = False

    @property
    def active_take(self) -> Take | None:
        return self.takes[self.active] if 0 <= self.active < len(self.takes) else None


@dataclass
class Track:
    name: str = ""
    guid: str = field(default_factory=new_guid)
    items: list[Item] = field(default_factory=list)


@dataclass
class Marker:
    isrgn: bool
    pos_s: float
    end_s: float
    name: str
    number: int
    color: int = 0


@dataclass
class Project:
    tracks: list[Track] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    time_selection: tuple[float, float] = (0.0, 0.0)
    tempo_bpm: float = 120.0
    path: str = ""
    undo_history: list[str] = field(default_factory=list)

    def all_items(self) -> list[Item]:
        return [item for track in self.tracks for item in track.items]

    def sorted_markers(self) -> list[Marker]:
        """REAPER enumerates markers and regions together, by position (markers first on ties)."""
        return sorted(self.markers, key=lambda m: (m.pos_s, m.isrgn, m.number))

    def track_of(self, item: Item) -> Track | None:
        return next((t for t in self.tracks if any(i is item for i in t.items)), None)


# --- .RPP writing -------------------------------------------------------------------------


def _take_lines(take: Take, *, first: bool, active: bool) -> list[object]:
    lines: list[object] = []
    if not first:
        lines.append(["TAKE", "SEL"] if active else ["TAKE"])
    lines += [["NAME", take.name], ["VOLPAN", f"{take.volume:.12g}", "0", "1", "-1"],
              ["SOFFS", f"{take.start_offset_s:.14g}"],
              ["PLAYRATE", f"{take.playrate:.14g}", "1", "0", "-1", "0", "0.0025"],
              ["GUID", take.guid]]
    if take.source is not None:
        lines.append(_source_element(take.source))
    return lines


def _source_element(source: Source) -> rpp.Element:
    if source.kind != "MIDI":
        return rpp.Element(tag="SOURCE", attrib=[source.kind], children=[["FILE", source.path]])
    children: list[object] = [["HASDATA", "1", str(PPQ), "QN"]]
    events: list[tuple[float, int, int, int]] = []
    for note in source.notes:
        events.append((note.start_ppq, 0x90 | note.chan, note.pitch, note.vel))
        events.append((note.end_ppq, 0x80 | note.chan, note.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1] & 0xF0 == 0x90))
    last = 0.0
    for ppq, status, pitch, vel in events:
        children.append(["E", str(round(ppq - last)), f"{status:02x}", f"{pitch:02x}", f"{vel:02x}"])
        last = ppq
    return rpp.Element(tag="SOURCE", attrib=["MIDI"], children=children)


def project_to_rpp(project: Project) -> str:
    root = rpp.Element(tag="REAPER_PROJECT", attrib=["0.1", "7.0/standin", "0"], children=[])
    root.append(["TEMPO", f"{project.tempo_bpm:g}", "4", "4"])
    start, end = project.time_selection
    root.append(["SELECTION", f"{start:.14g}", f"{end:.14g}"])
    for marker in project.sorted_markers():
        flags = "1" if marker.isrgn else "0"
        root.append(["MARKER", str(marker.number), f"{marker.pos_s:.14g}", marker.name, flags])
        if marker.isrgn:
            root.append(["MARKER", str(marker.number), f"{marker.end_s:.14g}", "", flags])
    for track in project.tracks:
        track_el = rpp.Element(tag="TRACK", attrib=[track.guid], children=[["NAME", track.name],
                                                                          ["TRACKID", track.guid]])
        for item in track.items:
            item_el = rpp.Element(tag="ITEM", attrib=[], children=[
                ["POSITION", f"{item.position_s:.14g}"], ["LENGTH", f"{item.length_s:.14g}"],
                ["FADEIN", "1", f"{item.fadein_s:.14g}", "0", "1", "0", "0", "0"],
                ["FADEOUT", "1", f"{item.fadeout_s:.14g}", "0", "1", "0", "0", "0"],
                ["MUTE", "1" if item.mute else "0", "0"], ["SEL", "1" if item.selected else "0"],
                ["IGUID", item.guid], ["VOLPAN", f"{item.volume:.12g}", "0", "1", "-1"]])
            for index, take in enumerate(item.takes):
                for line in _take_lines(take, first=index == 0, active=index == item.active):
                    item_el.append(line)
            track_el.append(item_el)
        root.append(track_el)
    text: str = rpp.dumps(root)
    return text


def save_rpp(project: Project, path: Path) -> None:
    path.write_text(project_to_rpp(project), encoding="utf-8")
    project.path = str(path)


# --- .RPP reading -------------------------------------------------------------------------


def _parse_midi(el: rpp.Element) -> Source:
    source = Source(kind="MIDI")
    ppq = 0.0
    open_notes: dict[tuple[int, int], tuple[float, int]] = {}
    for child in el.children:
        if isinstance(child, list) and child and child[0] == "E":
            ppq += float(child[1])
            status, pitch, vel = (int(x, 16) for x in child[2:5])
            kind, chan = status & 0xF0, status & 0x0F
            if kind == 0x90 and vel > 0:
                open_notes[(chan, pitch)] = (ppq, vel)
            elif kind in (0x80, 0x90) and (chan, pitch) in open_notes:
                start, velocity = open_notes.pop((chan, pitch))
                source.notes.append(Note(start, ppq, chan, pitch, velocity))
    return source


def _parse_item(el: rpp.Element) -> Item:
    item = Item(position_s=0.0, length_s=0.0)
    take: Take | None = None
    for child in el.children:
        if isinstance(child, rpp.Element):
            if child.tag == "SOURCE" and take is not None:
                if child.attrib and child.attrib[0] == "MIDI":
                    take.source = _parse_midi(child)
                else:
                    file_line = child.find("FILE")
                    take.source = Source(kind=child.attrib[0] if child.attrib else "WAVE",
                                         path=file_line[1] if file_line else "")
            continue
        key, values = child[0], child[1:]
        if key == "POSITION":
            item.position_s = float(values[0])
        elif key == "LENGTH":
            item.length_s = float(values[0])
        elif key == "FADEIN":
            item.fadein_s = float(values[1])
        elif key == "FADEOUT":
            item.fadeout_s = float(values[1])
        elif key == "MUTE":
            item.mute = values[0] == "1"
        elif key == "SEL":
            item.selected = values[0] == "1"
        elif key == "IGUID":
            item.guid = values[0]
        elif key == "VOLPAN" and take is None:
            item.volume = float(values[0])
        elif key == "TAKE":
            if take is None:  # an item whose first take was empty
                item.takes.append(Take(source=None))
            take = Take(source=None)
            item.takes.append(take)
            if values and values[0] == "SEL":
                item.active = len(item.takes) - 1
        elif key == "NAME":
            if take is None:
                take = Take(source=None)
                item.takes.append(take)
            take.name = values[0] if values else ""
        elif key == "VOLPAN" and take is not None:
            take.volume = float(values[0])
        elif key == "SOFFS" and take is not None:
            take.start_offset_s = float(values[0])
        elif key == "PLAYRATE" and take is not None:
            take.playrate = float(values[0])
        elif key == "GUID" and take is not None:
            take.guid = values[0]
    for take_ in item.takes:
        if take_.source is not None and take_.source.kind == "MIDI":
            take_.source.midi_length_s = item.length_s
    return item


def load_rpp(path: Path) -> Project:
    root = rpp.loads(path.read_text(encoding="utf-8"))
    project = Project(path=str(path))
    region_starts: dict[int, Marker] = {}
    for child in root.children:
        if isinstance(child, rpp.Element):
            if child.tag == "TRACK":
                name_line = child.find("NAME")
                track = Track(name=name_line[1] if name_line and len(name_line) > 1 else "",
                              guid=child.attrib[0] if child.attrib else new_guid())
                track.items = [_parse_item(el) for el in child.findall("ITEM")]
                project.tracks.append(track)
            continue
        key, values = child[0], child[1:]
        if key == "TEMPO":
            project.tempo_bpm = float(values[0])
        elif key == "SELECTION":
            project.time_selection = (float(values[0]), float(values[1]))
        elif key == "MARKER":
            number, pos, name, flags = int(values[0]), float(values[1]), values[2], int(values[3])
            if flags & 1 and number in region_starts:
                region_starts.pop(number).end_s = pos
            else:
                marker = Marker(isrgn=bool(flags & 1), pos_s=pos, end_s=pos, name=name, number=number)
                project.markers.append(marker)
                if marker.isrgn:
                    region_starts[number] = marker
    return project
