"""Bring a finished REAPER-origin job's results back into the project, as one undo step.

Called by the daemon's worker (``write_back(record, settings)``) after a job whose
``reaper`` field is set ends in state done. Everything REAPER-side happens in one
bridge batch, so REAPER is held still between the checks and the writes:

1. every captured item is found again by GUID (handles do not survive a REAPER
   restart), with its take and source; a deleted item, a deleted take or a
   different source is a *conflict* and that item is left alone; for edits in
   project time (clean) a moved or trimmed item is a conflict too;
2. then, inside ``Undo_BeginBlock2``/``Undo_EndBlock2``, the kind's result is written:
   inpaint adds a new active take (same start offset and play rate as the
   original, so the audio lines up and is bit-identical outside the gaps);
   clean follows the preset's mode (review regions, ripple edits, or a rendered
   take); transcribe adds a MIDI item on a new track under the source track.
The job's output files are never touched: a conflict or an unreachable REAPER
leaves them where the job wrote them, and the returned dict says where.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.reaper import bridge as rb
from daemon.reaper.timeline import (
    CleanPlan,
    MarkerInfo,
    PlacedItem,
    apply_edit_plan,
    apply_review,
    mode_from,
    plan_clean,
)
from daemon.settings import Settings
from models.errors import ReamendError

log = logging.getLogger(__name__)

TOLERANCE_S = 1e-6


@dataclass(frozen=True)
class CapturedItem:
    """One item as the action saw it (the ``items`` of the job's ``reaper`` payload)."""

    item_guid: str
    take_guid: str
    track_guid: str
    source: str
    position_s: float
    length_s: float
    start_offset_s: float
    playrate: float
    take_name: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapturedItem:
        return cls(item_guid=str(data["item_guid"]), take_guid=str(data["take_guid"]),
                   track_guid=str(data.get("track_guid", "")), source=str(data["source"]),
                   position_s=float(data["position_s"]), length_s=float(data["length_s"]),
                   start_offset_s=float(data.get("start_offset_s", 0.0)),
                   playrate=float(data.get("playrate") or 1.0), take_name=str(data.get("take_name", "")))

    def placed(self) -> PlacedItem:
        return PlacedItem(key=self.item_guid, track_key=self.track_guid, source=self.source,
                          position_s=self.position_s, length_s=self.length_s,
                          start_offset_s=self.start_offset_s, playrate=self.playrate)


@dataclass(frozen=True)
class Output:
    role: str
    path: Path
    source: str | None


class Conflict(Exception):
    """The target changed or vanished since the action ran: never write onto it."""


def same_file(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    if not a or not b:
        return False
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def output_for(outputs: Sequence[Output], role: str, source: str, n_inputs: int) -> Output | None:
    matches = [o for o in outputs if o.role == role and same_file(o.source, source)]
    if not matches and n_inputs == 1:
        matches = [o for o in outputs if o.role == role]
    return matches[0] if matches else None


# --- entry point ----------------------------------------------------------------------------


def write_back(record: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Apply the job's results in REAPER; returns ``{"status": "applied"|"conflict"|"error", ...}``."""
    reaper = record.get("reaper") or {}
    outcome = record.get("outcome") or {}
    outputs = [Output(o["role"], Path(o["path"]), o.get("source")) for o in outcome.get("outputs", [])]
    items = [CapturedItem.from_json(d) for d in reaper.get("items", [])]
    spec = record.get("spec") or {}
    kind = record.get("kind") or spec.get("kind")
    label = f"reamend: {kind} (job {record.get('id', '?')})"
    kept = sorted({str(o.path.parent) for o in outputs})
    if not items:
        return {"status": "error", "detail": "the job's REAPER payload lists no items", "outputs_in": kept}
    n_inputs = len(spec.get("inputs") or []) or len({i.source for i in items})
    try:
        batch = _batch_for(str(kind), items, outputs, reaper, label, n_inputs, outcome.get("summary") or {})
        result: dict[str, Any] = rb.get_bridge(settings).run(batch, connect_deadline_s=settings.reaper_timeout_s)
    except rb.ReaperUnavailableError as exc:
        return {"status": "error", "detail": f"{exc}; the results stay in {', '.join(kept)}", "outputs_in": kept}
    except (ValueError, OSError, EOFError, ReamendError) as exc:  # unreadable outputs, an unknown mode
        return {"status": "error", "detail": f"{type(exc).__name__}: {exc}", "outputs_in": kept}
    result["outputs_in"] = kept
    log.info("%s: write-back %s (%s)", label, result["status"], result["detail"])
    return result


def _batch_for(kind: str, items: list[CapturedItem], outputs: list[Output], reaper: dict[str, Any],
               label: str, n_inputs: int, summary: dict[str, Any]) -> Callable[[rb.Rpr], dict[str, Any]]:
    if kind == "inpaint":
        return lambda rpr: _per_item(rpr, items, label, lambda it, take: _add_inpainted_take(
            rpr, it, take, output_for(outputs, "audio", it.source, n_inputs)))
    if kind == "transcribe":
        tracks: dict[str, str] = {}
        # Files are read before the batch: REAPER is held still while a batch runs.
        notes = {it.source: read_midi_notes(o.path) for it in items
                 if (o := output_for(outputs, "midi", it.source, n_inputs)) is not None and o.path.is_file()}
        return lambda rpr: _per_item(rpr, items, label, lambda it, take: _add_midi_item(
            rpr, it, notes.get(it.source), tracks))
    if kind == "clean":
        edits = _load_edit_lists(outputs)
        mode = mode_from([e for e, _ in edits], reaper.get("mode"), summary.get("reaper_mode"))
        if mode == "render":
            return lambda rpr: _per_item(rpr, items, label, lambda it, take: _add_rendered_take(
                rpr, it, take, output_for(outputs, "audio", it.source, n_inputs), edits))
        plan = plan_clean([i.placed() for i in items], [(e, s) for e, s in edits])
        return lambda rpr: _apply_clean_plan(rpr, items, plan, mode, label)
    raise ValueError(f"no REAPER write-back for job kind {kind!r}")


def _load_edit_lists(outputs: Sequence[Output]) -> list[tuple[Any, str | None]]:
    from models.clean.edits import load_edits

    return [(load_edits(o.path), o.source) for o in outputs if o.role == "edits"]


# --- finding the targets again ---------------------------------------------------------------


def locate(rpr: rb.Rpr, captured: CapturedItem, *, strict: bool) -> tuple[str, str]:
    """(item, take) handles for ``captured`` now, or :class:`Conflict` saying what changed."""
    item = rb.find_item_by_guid(rpr, captured.item_guid)
    if item is None:
        raise Conflict(f"item {captured.item_guid} was deleted")
    take = rb.find_take_by_guid(rpr, item, captured.take_guid)
    if take is None:
        raise Conflict(f"take {captured.take_guid} of item {captured.item_guid} was deleted")
    current = rb.source_path(rpr, take)
    if not same_file(current, captured.source):
        raise Conflict(f"item {captured.item_guid} now plays {current!r}, not {captured.source!r}")
    if strict:
        now = (rpr.GetMediaItemInfo_Value(item, "D_POSITION"), rpr.GetMediaItemInfo_Value(item, "D_LENGTH"),
               rpr.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS"), rpr.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE"))
        then = (captured.position_s, captured.length_s, captured.start_offset_s, captured.playrate)
        if any(abs(a - b) > TOLERANCE_S for a, b in zip(now, then, strict=True)):
            raise Conflict(f"item {captured.item_guid} was moved, trimmed or re-timed since the action ran")
    return item, take


def _per_item(rpr: rb.Rpr, items: Sequence[CapturedItem], label: str,
              write: Callable[[CapturedItem, str], dict[str, Any]]) -> dict[str, Any]:
    """Check every item, then write the good ones inside one undo block."""
    located, results = [], []
    for captured in items:
        try:
            located.append((captured, locate(rpr, captured, strict=False)))
        except Conflict as exc:
            results.append({"item_guid": captured.item_guid, "status": "conflict", "detail": str(exc)})
    if located:
        with _undo_block(rpr, label):
            for captured, (_, take) in located:
                outcome = write(captured, take)
                results.append({"item_guid": captured.item_guid, **outcome})
    return _summarise(results, label)


def _summarise(results: list[dict[str, Any]], label: str) -> dict[str, Any]:
    conflicts = [r for r in results if r["status"] == "conflict"]
    errors = [r for r in results if r["status"] == "error"]
    applied = [r for r in results if r["status"] == "applied"]
    status = "conflict" if conflicts else "error" if errors and not applied else "applied"
    details = [r["detail"] for r in conflicts + errors] or [f"{len(applied)} item(s) updated"]
    return {"status": status, "detail": "; ".join(details), "items": results,
            "undo": label if applied else None}


class _undo_block:
    def __init__(self, rpr: rb.Rpr, label: str) -> None:
        self.rpr, self.label = rpr, label

    def __enter__(self) -> None:
        self.rpr.PreventUIRefresh(1)
        self.rpr.Undo_BeginBlock2(0)

    def __exit__(self, *exc: object) -> None:
        self.rpr.Undo_EndBlock2(0, self.label, -1)
        self.rpr.PreventUIRefresh(-1)
        self.rpr.UpdateArrange()


# --- inpaint and rendered clean: a new take -----------------------------------------------------


def _add_take_from_file(rpr: rb.Rpr, item: str, path: Path) -> str | None:
    """A new take playing ``path``: InsertMedia on the item alone (Python's
    PCM_Source_CreateFromFile + SetMediaItemTake_Source is reported to do nothing),
    then the documented route as a fallback; the selection is restored."""
    for index in range(int(rpr.CountTakes(item))):
        take = rpr.GetMediaItemTake(item, index)
        if same_file(rb.source_path(rpr, take), path):
            return str(take)  # already there: a retried write-back must not add it twice
    selected = [rpr.GetSelectedMediaItem(0, i) for i in range(int(rpr.CountSelectedMediaItems(0)))]
    rpr.SelectAllMediaItems(0, False)
    rpr.SetMediaItemSelected(item, True)
    before = int(rpr.CountTakes(item))
    rpr.InsertMedia(str(path), 3)
    rpr.SetMediaItemSelected(item, False)
    for handle in selected:
        rpr.SetMediaItemSelected(handle, True)
    if int(rpr.CountTakes(item)) > before:
        take = rpr.GetMediaItemTake(item, int(rpr.CountTakes(item)) - 1)
        if same_file(rb.source_path(rpr, take), path):
            return str(take)
    take = rpr.AddTakeToMediaItem(item)
    if take:
        rpr.SetMediaItemTake_Source(take, rpr.PCM_Source_CreateFromFile(str(path)))
        if same_file(rb.source_path(rpr, take), path):
            return str(take)
    return None


def _add_inpainted_take(rpr: rb.Rpr, captured: CapturedItem, original: str, output: Output | None) -> dict[str, Any]:
    if output is None or not output.path.is_file():
        return {"status": "error", "detail": f"no inpainted audio for {captured.source}"}
    item = rpr.GetMediaItemTake_Item(original)
    take = _add_take_from_file(rpr, item, output.path)
    if take is None:
        return {"status": "error", "detail": f"REAPER did not add a take for {output.path}"}
    for parm in ("D_STARTOFFS", "D_PLAYRATE", "D_VOL"):
        rpr.SetMediaItemTakeInfo_Value(take, parm, rpr.GetMediaItemTakeInfo_Value(original, parm))
    name = f"{captured.take_name or Path(captured.source).stem} (reamend inpaint)"
    rpr.GetSetMediaItemTakeInfo_String(take, "P_NAME", name, True)
    rpr.SetActiveTake(take)
    return {"status": "applied", "detail": f"new take {name!r}", "take_guid": rb.take_guid(rpr, take)}


def _add_rendered_take(rpr: rb.Rpr, captured: CapturedItem, original: str, output: Output | None,
                       edits: Sequence[tuple[Any, str | None]]) -> dict[str, Any]:
    from daemon.reaper.timeline import edits_for_source
    from models.clean.edits import map_time, merge_cuts

    if output is None or not output.path.is_file():
        return {"status": "error", "detail": f"no cleaned audio for {captured.source}"}
    item = rpr.GetMediaItemTake_Item(original)
    take = _add_take_from_file(rpr, item, output.path)
    if take is None:
        return {"status": "error", "detail": f"REAPER did not add a take for {output.path}"}
    cuts = merge_cuts(c for edit_list, _ in edits_for_source(edits, captured.source) for c in edit_list.cuts)
    offset = rpr.GetMediaItemTakeInfo_Value(original, "D_STARTOFFS")
    rate = rpr.GetMediaItemTakeInfo_Value(original, "D_PLAYRATE") or 1.0
    length = rpr.GetMediaItemInfo_Value(item, "D_LENGTH")
    new_offset = map_time(offset, cuts)
    new_end = map_time(offset + length * rate, cuts)
    rpr.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", new_offset)
    rpr.SetMediaItemTakeInfo_Value(take, "D_PLAYRATE", rate)
    rpr.SetMediaItemInfo_Value(item, "D_LENGTH", (new_end - new_offset) / rate)
    name = f"{captured.take_name or Path(captured.source).stem} (reamend clean)"
    rpr.GetSetMediaItemTakeInfo_String(take, "P_NAME", name, True)
    rpr.SetActiveTake(take)
    return {"status": "applied", "detail": f"new take {name!r}", "take_guid": rb.take_guid(rpr, take)}


# --- transcribe: a MIDI item on a new track ---------------------------------------------------


@dataclass(frozen=True)
class MidiNote:
    start_s: float
    end_s: float
    pitch: int
    velocity: int
    channel: int


def read_midi_notes(path: Path) -> list[MidiNote]:
    """Notes in seconds from a standard MIDI file, through its tempo map (mido does the maths)."""
    import mido

    notes: list[MidiNote] = []
    open_notes: dict[tuple[int, int], tuple[float, int]] = {}
    now = 0.0
    for message in mido.MidiFile(str(path)):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            open_notes[(message.channel, message.note)] = (now, message.velocity)
        elif message.type in ("note_off", "note_on") and (message.channel, message.note) in open_notes:
            start, velocity = open_notes.pop((message.channel, message.note))
            notes.append(MidiNote(start, now, message.note, velocity, message.channel))
    return sorted(notes, key=lambda n: (n.start_s, n.pitch))


def _add_midi_item(rpr: rb.Rpr, captured: CapturedItem, notes: list[MidiNote] | None,
                   new_tracks: dict[str, str]) -> dict[str, Any]:
    if notes is None:
        return {"status": "error", "detail": f"no MIDI file for {captured.source}"}
    item = rb.find_item_by_guid(rpr, captured.item_guid)
    source_track = rpr.GetMediaItem_Track(item)
    track_guid = str(rpr.GetSetMediaTrackInfo_String(source_track, "GUID", "", False)[3])
    if track_guid not in new_tracks:
        index = int(rpr.GetMediaTrackInfo_Value(source_track, "IP_TRACKNUMBER"))  # 1-based: the slot below
        rpr.InsertTrackAtIndex(index, True)
        track = rpr.GetTrack(0, index)
        name = str(rpr.GetSetMediaTrackInfo_String(source_track, "P_NAME", "", False)[3]) or "audio"
        rpr.GetSetMediaTrackInfo_String(track, "P_NAME", f"{name} MIDI (reamend)", True)
        new_tracks[track_guid] = str(track)
    track = new_tracks[track_guid]
    position = rpr.GetMediaItemInfo_Value(item, "D_POSITION")
    length = rpr.GetMediaItemInfo_Value(item, "D_LENGTH")
    take_now = rpr.GetActiveTake(item)
    offset = rpr.GetMediaItemTakeInfo_Value(take_now, "D_STARTOFFS")
    rate = rpr.GetMediaItemTakeInfo_Value(take_now, "D_PLAYRATE") or 1.0
    midi_item = rpr.CreateNewMIDIItemInProj(track, position, position + length, False)[0]
    midi_take = rpr.GetActiveTake(midi_item)
    count = 0
    end_of_item = position + length
    for note in notes:
        start = position + (note.start_s - offset) / rate
        end = min(position + (note.end_s - offset) / rate, end_of_item)
        if start < position - TOLERANCE_S or start >= end_of_item or end <= start:
            continue
        rpr.MIDI_InsertNote(midi_take, False, False, rpr.MIDI_GetPPQPosFromProjTime(midi_take, start),
                            rpr.MIDI_GetPPQPosFromProjTime(midi_take, end), note.channel, note.pitch,
                            note.velocity, True)
        count += 1
    rpr.MIDI_Sort(midi_take)
    rpr.GetSetMediaItemTakeInfo_String(midi_take, "P_NAME", f"{Path(captured.source).stem} (reamend MIDI)", True)
    return {"status": "applied", "detail": f"MIDI item with {count} notes",
            "midi_item_guid": rb.item_guid(rpr, midi_item), "notes": count}


# --- clean: review regions or ripple edits -----------------------------------------------------


class LiveOps:
    """:class:`daemon.reaper.timeline.TimelineOps` on a live REAPER, inside one bridge batch."""

    def __init__(self, rpr: rb.Rpr) -> None:
        self.rpr = rpr

    def all_items(self) -> list[str]:
        return [str(self.rpr.GetMediaItem(0, i)) for i in range(int(self.rpr.CountMediaItems(0)))]

    def item_key(self, item: str) -> str:
        return rb.item_guid(self.rpr, item)

    def bounds(self, item: str) -> tuple[float, float]:
        return (self.rpr.GetMediaItemInfo_Value(item, "D_POSITION"), self.rpr.GetMediaItemInfo_Value(item, "D_LENGTH"))

    def split(self, item: str, at_s: float) -> str:
        right = self.rpr.SplitMediaItem(item, at_s)
        if not right:
            raise RuntimeError(f"REAPER refused to split an item at {at_s:.6f} s")
        return str(right)

    def delete(self, item: str) -> None:
        self.rpr.DeleteTrackMediaItem(self.rpr.GetMediaItem_Track(item), item)

    def set_bounds(self, item: str, position_s: float, length_s: float) -> None:
        self.rpr.SetMediaItemInfo_Value(item, "D_POSITION", position_s)
        self.rpr.SetMediaItemInfo_Value(item, "D_LENGTH", length_s)

    def set_fades(self, item: str, *, fadein_s: float | None = None, fadeout_s: float | None = None) -> None:
        if fadein_s is not None:
            self.rpr.SetMediaItemInfo_Value(item, "D_FADEINLEN", fadein_s)
        if fadeout_s is not None:
            self.rpr.SetMediaItemInfo_Value(item, "D_FADEOUTLEN", fadeout_s)

    def scale_volume(self, item: str, factor: float) -> None:
        self.rpr.SetMediaItemInfo_Value(item, "D_VOL", self.rpr.GetMediaItemInfo_Value(item, "D_VOL") * factor)

    def markers(self) -> list[MarkerInfo]:
        """By EnumProjectMarkers3 and region numbers (reapy's Project.regions misreads
        indices when markers come before regions)."""
        found = []
        for index in range(int(self.rpr.CountProjectMarkers(0, 0, 0)[0])):
            r = self.rpr.EnumProjectMarkers3(0, index, False, 0.0, 0.0, "", 0, 0)
            found.append(MarkerInfo(index=index, isrgn=bool(r[3]), pos_s=float(r[4]), end_s=float(r[5]),
                                    number=int(r[7])))
        return found

    def move_marker(self, marker: MarkerInfo, pos_s: float, end_s: float) -> None:
        # Re-find by kind, number and position: moving others may have re-sorted the list.
        for now in self.markers():
            if (now.isrgn, now.number) == (marker.isrgn, marker.number) and abs(now.pos_s - marker.pos_s) < 1e-9:
                # An empty name with flags 0 keeps the name (it cannot be read from Python anyway).
                self.rpr.SetProjectMarkerByIndex2(0, now.index, marker.isrgn, pos_s, end_s, marker.number, "", 0, 0)
                return

    def add_region(self, start_s: float, end_s: float, name: str) -> None:
        self.rpr.AddProjectMarker2(0, True, start_s, end_s, name, -1, 0)


def _apply_clean_plan(rpr: rb.Rpr, items: Sequence[CapturedItem], plan: CleanPlan, mode: str,
                      label: str) -> dict[str, Any]:
    """Project-time edits are all-or-nothing: one changed item and nothing is written."""
    try:
        for captured in items:
            locate(rpr, captured, strict=True)
    except Conflict as exc:
        return {"status": "conflict", "detail": str(exc), "mode": mode, "undo": None}
    ops = LiveOps(rpr)
    with _undo_block(rpr, label):
        if mode == "review":
            summary: dict[str, Any] = {"regions": apply_review(ops, plan)}
        else:
            summary = apply_edit_plan(ops, plan)
    detail = ", ".join(f"{k} {v}" for k, v in summary.items() if k != "removals")
    return {"status": "applied", "detail": f"{mode}: {detail}", "mode": mode, "undo": label, **summary}
