"""The stand-in's ``reaper_python``: the RPR_* functions reamend and reapy use.

Faithful to ReaScript's Python conventions, so code that works here has a fair
chance on a real REAPER:
- handles are strings such as ``(MediaItem*)0x00007F3A5C2B1040`` with random
  addresses per run (a stale handle from a previous run is simply invalid);
- functions with out-parameters return a tuple of all arguments with the return
  value first (void functions: the arguments only);
- a NULL project (0, None, "") means the current project;
- invalid handles never raise: reads return 0, "" or 0.0 and writes do nothing;
- string out-parameters that REAPER's Python binding cannot fill (marker and
  region names in ``EnumProjectMarkers*``) come back unchanged.
Everything runs on the stand-in's main thread, like REAPER's API.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reaper_standin.model import PPQ, Item, Marker, Note, Project, Source, Take, Track


@dataclass
class State:
    project: Project = field(default_factory=Project)
    resource_path: str = ""
    ext_state: dict[tuple[str, str], str] = field(default_factory=dict)
    persisted: dict[tuple[str, str], str] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    message_boxes: list[dict[str, Any]] = field(default_factory=list)
    user_inputs: deque[str | None] = field(default_factory=deque)
    actions: dict[int, str] = field(default_factory=dict)  # command id -> script path
    named: dict[str, int] = field(default_factory=dict)  # "_RS..." -> command id
    undo_depth: int = 0
    ui_refresh_blocks: int = 0
    run_script: Any = None  # set by the host: callable(path) running a ReaScript


STATE = State()
_BASE = random.randrange(0x10000, 0x7FFF0) << 24  # random per run, so stale handles show
_HANDLES: dict[str, object] = {}
_IDS: dict[int, str] = {}
_NEXT = [0]
_TYPE = {Project: "ReaProject*", Track: "MediaTrack*", Item: "MediaItem*", Take: "MediaItem_Take*",
         Source: "PCM_source*"}


def handle(obj: object) -> str:
    key = id(obj)
    if key not in _IDS:
        _NEXT[0] += 1
        text = f"({_TYPE[type(obj)]})0x{_BASE + _NEXT[0] * 0x1A0:016X}"
        _IDS[key] = text
        _HANDLES[text] = obj
    return _IDS[key]


def forget(obj: object) -> None:
    text = _IDS.pop(id(obj), None)
    if text is not None:
        _HANDLES.pop(text, None)


def reset_handles() -> None:
    _HANDLES.clear()
    _IDS.clear()


def _resolve(h: object, kind: type) -> Any:
    obj = _HANDLES.get(h) if isinstance(h, str) else None
    return obj if isinstance(obj, kind) else None


def _proj(p: object) -> Project | None:
    if p in (0, None, ""):
        return STATE.project
    return _resolve(p, Project)


def _item(h: object) -> Item | None:
    item = _resolve(h, Item)
    return item if item is not None and item in STATE.project.all_items() else None


def _take(h: object) -> Take | None:
    take = _resolve(h, Take)
    if take is None or _item_of(take) is None:
        return None
    return take


def _item_of(take: Take) -> Item | None:
    return next((i for i in STATE.project.all_items() if any(t is take for t in i.takes)), None)


def _track(h: object) -> Track | None:
    track = _resolve(h, Track)
    return track if track is not None and any(t is track for t in STATE.project.tracks) else None


# --- general ------------------------------------------------------------------------------


def RPR_GetAppVersion() -> str:
    return "7.0/standin"


def RPR_GetResourcePath() -> str:
    return STATE.resource_path


def RPR_ShowConsoleMsg(msg: str) -> None:
    STATE.console.append(str(msg))


def RPR_ClearConsole() -> None:
    STATE.console.clear()


def RPR_ShowMessageBox(msg: str, title: str, type: int) -> int:
    STATE.message_boxes.append({"msg": str(msg), "title": str(title), "type": int(type)})
    return 1  # "OK": the stand-in has no user to click


def RPR_GetUserInputs(title: str, num_inputs: int, captions_csv: str, retvals_csv: str,
                      retvals_csv_sz: int) -> tuple[bool, str, int, str, str, int]:
    """Answers come from a queue the test fills; an empty queue (or None) means Cancel."""
    answer = STATE.user_inputs.popleft() if STATE.user_inputs else None
    if answer is None:
        return (False, title, num_inputs, captions_csv, retvals_csv, retvals_csv_sz)
    return (True, title, num_inputs, captions_csv, answer, retvals_csv_sz)


def RPR_GetExtState(section: str, key: str) -> str:
    return STATE.ext_state.get((section, key), "")


def RPR_SetExtState(section: str, key: str, value: str, persist: bool) -> None:
    STATE.ext_state[(section, key)] = str(value)
    if persist:
        STATE.persisted[(section, key)] = str(value)


def RPR_HasExtState(section: str, key: str) -> bool:
    return (section, key) in STATE.ext_state


def RPR_DeleteExtState(section: str, key: str, persist: bool) -> None:
    STATE.ext_state.pop((section, key), None)
    if persist:
        STATE.persisted.pop((section, key), None)


def RPR_EnumProjects(idx: int, projfn: str, projfn_sz: int) -> tuple[str | int, int, str, int]:
    if idx not in (-1, 0):
        return (0, idx, projfn or "", projfn_sz)
    return (handle(STATE.project), idx, STATE.project.path, projfn_sz)


def RPR_GetProjectPath(buf: str, buf_sz: int) -> tuple[str, int]:
    return (str(Path(STATE.project.path).parent) if STATE.project.path else "", buf_sz)


def RPR_ValidatePtr2(proj: object, pointer: object, ctypename: str) -> bool:
    obj = _HANDLES.get(pointer) if isinstance(pointer, str) else None
    if obj is None or _TYPE.get(type(obj)) != ctypename:
        return False
    checks = {Item: _item, Take: _take, Track: _track}
    check = checks.get(type(obj))
    return check(pointer) is not None if check else True


def RPR_ValidatePtr(pointer: object, ctypename: str) -> bool:
    return RPR_ValidatePtr2(0, pointer, ctypename)


def RPR_Undo_BeginBlock2(proj: object) -> None:
    STATE.undo_depth += 1


def RPR_Undo_BeginBlock() -> None:
    RPR_Undo_BeginBlock2(0)


def RPR_Undo_EndBlock2(proj: object, descchange: str, extraflags: int) -> None:
    if STATE.undo_depth > 0:
        STATE.undo_depth -= 1
        if STATE.undo_depth == 0:
            STATE.project.undo_history.append(str(descchange))


def RPR_Undo_EndBlock(descchange: str, extraflags: int) -> None:
    RPR_Undo_EndBlock2(0, descchange, extraflags)


def RPR_Undo_OnStateChange(descchange: str) -> None:
    if STATE.undo_depth == 0:
        STATE.project.undo_history.append(str(descchange))


def RPR_PreventUIRefresh(prevent_count: int) -> None:
    STATE.ui_refresh_blocks += int(prevent_count)


def RPR_UpdateArrange() -> None:
    return None


def RPR_UpdateTimeline() -> None:
    return None


def RPR_TrackList_AdjustWindows(isMinor: bool) -> None:
    return None


def RPR_GetSet_LoopTimeRange2(proj: object, isSet: bool, isLoop: bool, start: float, end: float,
                              allowautoseek: bool) -> tuple[object, bool, bool, float, float, bool]:
    project = _proj(proj)
    if project is None:
        return (proj, isSet, isLoop, 0.0, 0.0, allowautoseek)
    if isSet:
        project.time_selection = (float(start), float(end))
        return (proj, isSet, isLoop, start, end, allowautoseek)
    sel_start, sel_end = project.time_selection
    return (proj, isSet, isLoop, sel_start, sel_end, allowautoseek)


def RPR_GetSet_LoopTimeRange(isSet: bool, isLoop: bool, start: float, end: float,
                             allowautoseek: bool) -> tuple[bool, bool, float, float, bool]:
    return RPR_GetSet_LoopTimeRange2(0, isSet, isLoop, start, end, allowautoseek)[1:]


def RPR_GetCursorPosition() -> float:
    return 0.0


# --- actions ------------------------------------------------------------------------------


def RPR_AddRemoveReaScript(add: bool, sectionID: int, scriptfn: str, commit: bool) -> int:
    named = "_RS" + hashlib.sha1(str(Path(scriptfn).resolve()).encode()).hexdigest()
    if not add:
        command = STATE.named.pop(named, 0)
        STATE.actions.pop(command, None)
        return 0
    if named not in STATE.named:
        command = 55000 + len(STATE.named) + 1
        STATE.named[named] = command
        STATE.actions[command] = str(scriptfn)
    return STATE.named[named]


def RPR_NamedCommandLookup(command_name: str) -> int:
    name = str(command_name)
    name = name if name.startswith("_") else "_" + name
    return STATE.named.get(name, 0)


def RPR_ReverseNamedCommandLookup(command_id: int) -> str:
    return next((n[1:] for n, c in STATE.named.items() if c == command_id), "")


def RPR_Main_OnCommand(command: int, flag: int) -> None:
    RPR_Main_OnCommandEx(command, flag, 0)


def RPR_Main_OnCommandEx(command: int, flag: int, proj: object) -> None:
    if command == 40289:  # Item: Unselect all items
        RPR_SelectAllMediaItems(0, False)
    elif command in STATE.actions and STATE.run_script is not None:
        STATE.run_script(STATE.actions[command])


# --- tracks -------------------------------------------------------------------------------


def RPR_CountTracks(proj: object) -> int:
    project = _proj(proj)
    return len(project.tracks) if project else 0


def RPR_GetTrack(proj: object, trackidx: int) -> str | int:
    project = _proj(proj)
    if project is None or not 0 <= trackidx < len(project.tracks):
        return 0
    return handle(project.tracks[trackidx])


def RPR_InsertTrackAtIndex(idx: int, wantDefaults: bool) -> None:
    tracks = STATE.project.tracks
    tracks.insert(max(0, min(int(idx), len(tracks))), Track())


def RPR_DeleteTrack(tr: object) -> None:
    track = _track(tr)
    if track is not None:
        STATE.project.tracks.remove(track)
        forget(track)


def RPR_GetMediaTrackInfo_Value(tr: object, parmname: str) -> float:
    track = _track(tr)
    if track is None:
        return 0.0
    if parmname == "IP_TRACKNUMBER":
        return float(STATE.project.tracks.index(track) + 1)
    return 0.0


def RPR_SetMediaTrackInfo_Value(tr: object, parmname: str, newvalue: float) -> bool:
    return _track(tr) is not None


def RPR_GetSetMediaTrackInfo_String(tr: object, parmname: str, stringNeedBig: str,
                                    setNewValue: bool) -> tuple[bool, object, str, str, bool]:
    track = _track(tr)
    if track is None or parmname not in ("P_NAME", "GUID"):
        return (False, tr, parmname, stringNeedBig, setNewValue)
    if setNewValue:
        if parmname == "P_NAME":
            track.name = str(stringNeedBig)
        else:
            track.guid = str(stringNeedBig)
        return (True, tr, parmname, stringNeedBig, setNewValue)
    return (True, tr, parmname, track.name if parmname == "P_NAME" else track.guid, setNewValue)


def RPR_GetTrackGUID(tr: object) -> str:
    track = _track(tr)
    return track.guid if track else ""


def RPR_GetTrackName(tr: object, buf: str, buf_sz: int) -> tuple[bool, object, str, int]:
    track = _track(tr)
    return (track is not None, tr, track.name if track else buf, buf_sz)


# --- items --------------------------------------------------------------------------------


def RPR_CountMediaItems(proj: object) -> int:
    project = _proj(proj)
    return len(project.all_items()) if project else 0


def RPR_GetMediaItem(proj: object, itemidx: int) -> str | int:
    project = _proj(proj)
    items = project.all_items() if project else []
    return handle(items[itemidx]) if 0 <= itemidx < len(items) else 0


def RPR_CountSelectedMediaItems(proj: object) -> int:
    project = _proj(proj)
    return sum(1 for i in project.all_items() if i.selected) if project else 0


def RPR_GetSelectedMediaItem(proj: object, selitem: int) -> str | int:
    project = _proj(proj)
    items = [i for i in project.all_items() if i.selected] if project else []
    return handle(items[selitem]) if 0 <= selitem < len(items) else 0


def RPR_SetMediaItemSelected(item: object, selected: bool) -> None:
    it = _item(item)
    if it is not None:
        it.selected = bool(selected)


def RPR_IsMediaItemSelected(item: object) -> bool:
    it = _item(item)
    return bool(it and it.selected)


def RPR_SelectAllMediaItems(proj: object, selected: bool) -> None:
    project = _proj(proj)
    for it in project.all_items() if project else []:
        it.selected = bool(selected)


def RPR_CountTrackMediaItems(track: object) -> int:
    tr = _track(track)
    return len(tr.items) if tr else 0


def RPR_GetTrackMediaItem(tr: object, itemidx: int) -> str | int:
    track = _track(tr)
    if track is None or not 0 <= itemidx < len(track.items):
        return 0
    return handle(sorted(track.items, key=lambda i: i.position_s)[itemidx])


def RPR_GetMediaItem_Track(item: object) -> str | int:
    it = _item(item)
    track = STATE.project.track_of(it) if it else None
    return handle(track) if track else 0


def RPR_AddMediaItemToTrack(tr: object) -> str | int:
    track = _track(tr)
    if track is None:
        return 0
    item = Item(position_s=0.0, length_s=0.0)
    track.items.append(item)
    return handle(item)


def RPR_DeleteTrackMediaItem(tr: object, it: object) -> bool:
    track, item = _track(tr), _item(it)
    if track is None or item is None or not any(i is item for i in track.items):
        return False
    track.items.remove(item)
    forget(item)
    for take in item.takes:
        forget(take)
    return True


_ITEM_VALUES = {"D_POSITION": "position_s", "D_LENGTH": "length_s", "D_VOL": "volume",
                "D_FADEINLEN": "fadein_s", "D_FADEOUTLEN": "fadeout_s"}


def RPR_GetMediaItemInfo_Value(item: object, parmname: str) -> float:
    it = _item(item)
    if it is None:
        return 0.0
    if parmname in _ITEM_VALUES:
        return float(getattr(it, _ITEM_VALUES[parmname]))
    if parmname == "B_MUTE":
        return float(it.mute)
    if parmname == "B_UISEL":
        return float(it.selected)
    if parmname == "IP_ITEMNUMBER":
        track = STATE.project.track_of(it)
        return float(sorted(track.items, key=lambda i: i.position_s).index(it)) if track else 0.0
    return 0.0


def RPR_SetMediaItemInfo_Value(item: object, parmname: str, newvalue: float) -> bool:
    it = _item(item)
    if it is None:
        return False
    if parmname in _ITEM_VALUES:
        setattr(it, _ITEM_VALUES[parmname], float(newvalue))
    elif parmname == "B_MUTE":
        it.mute = bool(newvalue)
    elif parmname == "B_UISEL":
        it.selected = bool(newvalue)
    else:
        return False
    return True


def RPR_SetMediaItemPosition(item: object, position: float, refreshUI: bool) -> bool:
    return RPR_SetMediaItemInfo_Value(item, "D_POSITION", position)


def RPR_SetMediaItemLength(item: object, length: float, refreshUI: bool) -> bool:
    return RPR_SetMediaItemInfo_Value(item, "D_LENGTH", length)


def RPR_GetSetMediaItemInfo_String(item: object, parmname: str, stringNeedBig: str,
                                   setNewValue: bool) -> tuple[bool, object, str, str, bool]:
    it = _item(item)
    if it is None or parmname not in ("GUID", "P_NOTES"):
        return (False, item, parmname, stringNeedBig, setNewValue)
    if parmname == "GUID":
        if setNewValue:
            it.guid = str(stringNeedBig)
        return (True, item, parmname, it.guid, setNewValue)
    return (True, item, parmname, "", setNewValue)


def RPR_SplitMediaItem(item: object, position: float) -> str | int:
    """Split like REAPER: the left part keeps the handle, the right part is new; every take
    of the right part starts later in its source by the split distance times its play rate."""
    it = _item(item)
    if it is None or not it.position_s < position < it.position_s + it.length_s:
        return 0
    track = STATE.project.track_of(it)
    assert track is not None
    cut = float(position) - it.position_s
    right = Item(position_s=float(position), length_s=it.length_s - cut, active=it.active,
                 selected=it.selected, volume=it.volume, fadein_s=0.0, fadeout_s=it.fadeout_s, mute=it.mute)
    for take in it.takes:
        right.takes.append(Take(source=take.source, name=take.name,
                                start_offset_s=take.start_offset_s + cut * take.playrate,
                                playrate=take.playrate, volume=take.volume))
    if any(t.source is not None and t.source.kind == "MIDI" for t in it.takes):
        for take_left, take_right in zip(it.takes, right.takes, strict=True):
            if take_left.source is not None and take_left.source.kind == "MIDI":
                take_right.source = _split_midi(take_left.source, cut)
                take_right.start_offset_s = 0.0
    it.length_s = cut
    it.fadeout_s = 0.0
    track.items.append(right)
    return handle(right)


def _split_midi(source: Source, cut_s: float) -> Source:
    cut_ppq = cut_s * STATE.project.tempo_bpm / 60.0 * PPQ
    right = Source(kind="MIDI", midi_length_s=max(0.0, source.midi_length_s - cut_s))
    right.notes = [Note(n.start_ppq - cut_ppq, n.end_ppq - cut_ppq, n.chan, n.pitch, n.vel)
                   for n in source.notes if n.start_ppq >= cut_ppq]
    source.notes = [n for n in source.notes if n.start_ppq < cut_ppq]
    return right


# --- takes and sources --------------------------------------------------------------------


def RPR_CountTakes(item: object) -> int:
    it = _item(item)
    return len(it.takes) if it else 0


def RPR_GetMediaItemNumTakes(item: object) -> int:
    return RPR_CountTakes(item)


def RPR_GetMediaItemTake(item: object, tk: int) -> str | int:
    it = _item(item)
    if it is None or not 0 <= tk < len(it.takes):
        return 0
    return handle(it.takes[tk])


def RPR_GetActiveTake(item: object) -> str | int:
    it = _item(item)
    take = it.active_take if it else None
    return handle(take) if take else 0


def RPR_SetActiveTake(take: object) -> None:
    tk = _take(take)
    item = _item_of(tk) if tk else None
    if tk is not None and item is not None:
        item.active = next(i for i, t in enumerate(item.takes) if t is tk)


def RPR_GetMediaItemTake_Item(take: object) -> str | int:
    tk = _take(take)
    item = _item_of(tk) if tk else None
    return handle(item) if item else 0


def RPR_GetMediaItemTake_Source(take: object) -> str | int:
    tk = _take(take)
    return handle(tk.source) if tk and tk.source else 0


def RPR_AddTakeToMediaItem(item: object) -> str | int:
    """An empty audio take, as REAPER makes (MIDI needs a MIDI item instead)."""
    it = _item(item)
    if it is None:
        return 0
    take = Take(source=None)
    it.takes.append(take)
    return handle(take)


def RPR_PCM_Source_CreateFromFile(filename: str) -> str:
    return handle(Source(kind="WAVE", path=str(filename)))


def RPR_SetMediaItemTake_Source(take: object, source: object) -> bool:
    tk, src = _take(take), _resolve(source, Source)
    if tk is None or src is None:
        return False
    tk.source = src
    return True


def RPR_TakeIsMIDI(take: object) -> bool:
    tk = _take(take)
    return bool(tk and tk.source and tk.source.kind == "MIDI")


_TAKE_VALUES = {"D_STARTOFFS": "start_offset_s", "D_PLAYRATE": "playrate", "D_VOL": "volume"}


def RPR_GetMediaItemTakeInfo_Value(take: object, parmname: str) -> float:
    tk = _take(take)
    if tk is None or parmname not in _TAKE_VALUES:
        return 0.0
    return float(getattr(tk, _TAKE_VALUES[parmname]))


def RPR_SetMediaItemTakeInfo_Value(take: object, parmname: str, newvalue: float) -> bool:
    tk = _take(take)
    if tk is None or parmname not in _TAKE_VALUES:
        return False
    setattr(tk, _TAKE_VALUES[parmname], float(newvalue))
    return True


def RPR_GetSetMediaItemTakeInfo_String(take: object, parmname: str, stringNeedBig: str,
                                       setNewValue: bool) -> tuple[bool, object, str, str, bool]:
    tk = _take(take)
    if tk is None or parmname not in ("P_NAME", "GUID"):
        return (False, take, parmname, stringNeedBig, setNewValue)
    attr = "name" if parmname == "P_NAME" else "guid"
    if setNewValue:
        setattr(tk, attr, str(stringNeedBig))
    return (True, take, parmname, getattr(tk, attr), setNewValue)


def RPR_GetTakeName(take: object) -> str:
    tk = _take(take)
    return tk.name if tk else ""


def RPR_GetMediaSourceFileName(source: object, filenamebuf: str, filenamebuf_sz: int) -> tuple[object, str, int]:
    src = _resolve(source, Source)
    return (source, src.path if src else "", filenamebuf_sz)


def RPR_GetMediaSourceLength(source: object, lengthIsQNOut: bool) -> tuple[float, object, bool]:
    src = _resolve(source, Source)
    return (src.length_s if src else 0.0, source, False)


def RPR_GetMediaSourceSampleRate(source: object) -> int:
    src = _resolve(source, Source)
    return src.sample_rate if src else 0


def RPR_GetMediaSourceNumChannels(source: object) -> int:
    src = _resolve(source, Source)
    return src.channels if src else 0


def RPR_GetMediaSourceType(source: object, typebuf: str, typebuf_sz: int) -> tuple[object, str, int]:
    src = _resolve(source, Source)
    return (source, src.kind if src else "", typebuf_sz)


def RPR_InsertMedia(file: str, mode: int) -> int:
    """Only the mode reamend uses: 3 = add to selected items as a new (active) take."""
    if int(mode) & 3 != 3 or not Path(file).is_file():
        return 0
    for item in STATE.project.all_items():
        if item.selected:
            item.takes.append(Take(source=Source(kind="WAVE", path=str(file)), name=Path(file).name))
            item.active = len(item.takes) - 1
    return 1


# --- MIDI ---------------------------------------------------------------------------------


def RPR_CreateNewMIDIItemInProj(track: object, starttime: float, endtime: float,
                                qnInOptional: bool) -> tuple[str | int, object, float, float, bool]:
    tr = _track(track)
    if tr is None or endtime <= starttime:
        return (0, track, starttime, endtime, qnInOptional)
    length = float(endtime) - float(starttime)
    item = Item(position_s=float(starttime), length_s=length,
                takes=[Take(source=Source(kind="MIDI", midi_length_s=length))])
    tr.items.append(item)
    return (handle(item), track, starttime, endtime, qnInOptional)


def _midi_source(take: object) -> tuple[Take, Item, Source] | None:
    tk = _take(take)
    item = _item_of(tk) if tk else None
    if tk is None or item is None or tk.source is None or tk.source.kind != "MIDI":
        return None
    return tk, item, tk.source


def RPR_MIDI_GetPPQPosFromProjTime(take: object, projtime: float) -> float:
    found = _midi_source(take)
    if found is None:
        return 0.0
    tk, item, _ = found
    source_start = item.position_s - tk.start_offset_s / tk.playrate
    return (float(projtime) - source_start) * STATE.project.tempo_bpm / 60.0 * PPQ


def RPR_MIDI_GetProjTimeFromPPQPos(take: object, ppqpos: float) -> float:
    found = _midi_source(take)
    if found is None:
        return 0.0
    tk, item, _ = found
    source_start = item.position_s - tk.start_offset_s / tk.playrate
    return source_start + float(ppqpos) / PPQ * 60.0 / STATE.project.tempo_bpm


def RPR_MIDI_InsertNote(take: object, selected: bool, muted: bool, startppqpos: float, endppqpos: float,
                        chan: int, pitch: int, vel: int, noSortInOptional: bool) -> bool:
    found = _midi_source(take)
    if found is None or endppqpos < startppqpos or not (0 <= pitch < 128 and 0 <= vel < 128):
        return False
    found[2].notes.append(Note(float(startppqpos), float(endppqpos), int(chan), int(pitch), int(vel),
                               bool(selected), bool(muted)))
    if not noSortInOptional:
        RPR_MIDI_Sort(take)
    return True


def RPR_MIDI_Sort(take: object) -> None:
    found = _midi_source(take)
    if found is not None:
        found[2].notes.sort(key=lambda n: (n.start_ppq, n.pitch))


def RPR_MIDI_CountEvts(take: object, notecntOut: int, ccevtcntOut: int,
                       textsyxevtcntOut: int) -> tuple[int, object, int, int, int]:
    found = _midi_source(take)
    count = len(found[2].notes) if found else 0
    return (count, take, count, 0, 0)


def RPR_MIDI_GetNote(take: object, noteidx: int, selectedOut: bool, mutedOut: bool, startppqposOut: float,
                     endppqposOut: float, chanOut: int, pitchOut: int, velOut: int) -> tuple[Any, ...]:
    found = _midi_source(take)
    if found is None or not 0 <= noteidx < len(found[2].notes):
        return (False, take, noteidx, selectedOut, mutedOut, startppqposOut, endppqposOut, chanOut, pitchOut,
                velOut)
    n = found[2].notes[noteidx]
    return (True, take, noteidx, n.selected, n.muted, n.start_ppq, n.end_ppq, n.chan, n.pitch, n.vel)


# --- markers and regions ------------------------------------------------------------------


def RPR_CountProjectMarkers(proj: object, num_markersOut: int, num_regionsOut: int) -> tuple[int, object, int, int]:
    project = _proj(proj)
    if project is None:
        return (0, proj, 0, 0)
    regions = sum(1 for m in project.markers if m.isrgn)
    markers = len(project.markers) - regions
    return (len(project.markers), proj, markers, regions)


def RPR_EnumProjectMarkers3(proj: object, idx: int, isrgnOut: bool, posOut: float, rgnendOut: float,
                            nameOut: str, markrgnindexnumberOut: int, colorOut: int) -> tuple[Any, ...]:
    project = _proj(proj)
    markers = project.sorted_markers() if project else []
    if not 0 <= idx < len(markers):
        return (0, proj, idx, isrgnOut, posOut, rgnendOut, nameOut, markrgnindexnumberOut, colorOut)
    m = markers[idx]
    # The name is a const char** out-parameter REAPER's Python binding cannot fill.
    return (idx + 1, proj, idx, m.isrgn, m.pos_s, m.end_s, nameOut, m.number, m.color)


def RPR_EnumProjectMarkers2(proj: object, idx: int, isrgnOut: bool, posOut: float, rgnendOut: float,
                            nameOut: str, markrgnindexnumberOut: int) -> tuple[Any, ...]:
    return RPR_EnumProjectMarkers3(proj, idx, isrgnOut, posOut, rgnendOut, nameOut, markrgnindexnumberOut, 0)[:8]


def RPR_AddProjectMarker2(proj: object, isrgn: bool, pos: float, rgnend: float, name: str, wantidx: int,
                          color: int) -> int:
    project = _proj(proj)
    if project is None:
        return -1
    used = {m.number for m in project.markers if m.isrgn == bool(isrgn)}
    number = int(wantidx) if wantidx >= 0 and wantidx not in used else next(
        n for n in range(1, len(used) + 2) if n not in used)
    project.markers.append(Marker(isrgn=bool(isrgn), pos_s=float(pos), end_s=float(rgnend if isrgn else pos),
                                  name=str(name), number=number, color=int(color)))
    return number


def RPR_AddProjectMarker(proj: object, isrgn: bool, pos: float, rgnend: float, name: str, wantidx: int) -> int:
    return RPR_AddProjectMarker2(proj, isrgn, pos, rgnend, name, wantidx, 0)


def RPR_SetProjectMarkerByIndex2(proj: object, markrgnidx: int, isrgn: bool, pos: float, rgnend: float,
                                 IDnumber: int, name: str, color: int, flags: int) -> bool:
    """An empty name keeps the old one unless ``flags & 1`` (REAPER's documented rule)."""
    project = _proj(proj)
    markers = project.sorted_markers() if project else []
    if not 0 <= markrgnidx < len(markers):
        return False
    m = markers[markrgnidx]
    m.isrgn, m.pos_s, m.end_s = bool(isrgn), float(pos), float(rgnend if isrgn else pos)
    m.number = int(IDnumber) if IDnumber >= 0 else m.number
    if name or flags & 1:
        m.name = str(name)
    if color:
        m.color = int(color)
    return True


def RPR_DeleteProjectMarkerByIndex(proj: object, markrgnidx: int) -> bool:
    project = _proj(proj)
    markers = project.sorted_markers() if project else []
    if project is None or not 0 <= markrgnidx < len(markers):
        return False
    project.markers.remove(markers[markrgnidx])
    return True


def RPR_DeleteProjectMarker(proj: object, markrgnindexnumber: int, isrgn: bool) -> bool:
    project = _proj(proj)
    found = [m for m in project.markers if m.number == markrgnindexnumber and m.isrgn == bool(isrgn)] \
        if project else []
    if not found or project is None:
        return False
    project.markers.remove(found[0])
    return True
