# @noindex
# Shared code of the reamend actions. Standard library only: it runs inside
# REAPER's Python, where heavy imports can crash REAPER and only the base
# interpreter is available. Never calls sys.exit() (that can take REAPER down).
"""Capture the selection in REAPER and hand it to the reamend daemon, quickly."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

SCRIPT_VERSION = "0.1.0"
TITLE = "reamend"
CONFIG_NAME = "reamend_reaper.json"
HTTP_TIMEOUT_S = 2.0
NOT_RUNNING = (
    "The reamend daemon is not running, so this action could not start.\n\n"
    "Start it in a terminal with:\n\n    reamend daemon\n\n"
    "(from the folder where reamend is installed, with its virtual environment active),\n"
    "then run the action again. Your selection has not been changed."
)


class _Rpr:
    """REAPER's RPR_* functions live in the shared __main__, not in this module."""

    def __getattr__(self, name):
        return getattr(sys.modules["__main__"], "RPR_" + name)


RPR = _Rpr()


class ActionError(Exception):
    """Something the user must be told in a message box (nothing was sent)."""


# --- configuration and the daemon ----------------------------------------------------------


def script_folder():
    if sys.path and sys.path[0] and os.path.isfile(os.path.join(sys.path[0], "reamend_common.py")):
        return sys.path[0]
    return os.path.join(RPR.GetResourcePath(), "Scripts", "reamend")


def load_config():
    path = os.path.join(script_folder(), CONFIG_NAME)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def reamend_home(config):
    """REAMEND_HOME as the daemon sees it: env, then what the installer recorded, then the platform default."""
    if os.environ.get("REAMEND_HOME"):
        return os.path.expanduser(os.environ["REAMEND_HOME"])
    if config.get("home"):
        return config["home"]
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/reamend")
    if sys.platform.startswith("win"):
        return os.path.join(os.environ.get("LOCALAPPDATA", os.path.expanduser("~")), "reamend", "reamend")
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "reamend")


def daemon_endpoint():
    """(port, token) of the running daemon, or None when it is not running."""
    path = os.path.join(reamend_home(load_config()), "api.json")
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        return None
    pid = int(info.get("pid") or 0)
    if pid and not sys.platform.startswith("win"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return int(info["port"]), str(info["token"])


def call_daemon(method, path, body=None):
    """One request to the daemon's loopback API; raises ActionError with a readable reason."""
    endpoint = daemon_endpoint()
    if endpoint is None:
        raise ActionError(NOT_RUNNING)
    port, token = endpoint
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read().decode("utf-8")).get("error", "")
        except ValueError:
            detail = ""
        raise ActionError(f"The reamend daemon refused the request ({exc.code}): {detail}") from None
    except (urllib.error.URLError, OSError):
        raise ActionError(NOT_RUNNING) from None


# --- capturing the selection ---------------------------------------------------------------


def _string(result, index):
    return result[index] if isinstance(result, (list, tuple)) else ""


def describe_item(item):
    """Everything write-back needs to find this item again and map times, frozen now."""
    take = RPR.GetActiveTake(item)
    if not take or RPR.TakeIsMIDI(take):
        return None
    source = RPR.GetMediaItemTake_Source(take)
    path = _string(RPR.GetMediaSourceFileName(source, "", 4096), 1) if source else ""
    if not path:
        return None
    track = RPR.GetMediaItem_Track(item)
    return {
        "item_guid": _string(RPR.GetSetMediaItemInfo_String(item, "GUID", "", False), 3),
        "take_guid": _string(RPR.GetSetMediaItemTakeInfo_String(take, "GUID", "", False), 3),
        "take_name": _string(RPR.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", False), 3),
        "track_guid": _string(RPR.GetSetMediaTrackInfo_String(track, "GUID", "", False), 3),
        "track_index": int(RPR.GetMediaTrackInfo_Value(track, "IP_TRACKNUMBER")) - 1,
        "source": os.path.abspath(path),
        "source_length_s": float(_string(RPR.GetMediaSourceLength(source, False), 0) or 0.0),
        "position_s": RPR.GetMediaItemInfo_Value(item, "D_POSITION"),
        "length_s": RPR.GetMediaItemInfo_Value(item, "D_LENGTH"),
        "start_offset_s": RPR.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS"),
        "playrate": RPR.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE") or 1.0,
    }


def selected_items():
    return [RPR.GetSelectedMediaItem(0, i) for i in range(RPR.CountSelectedMediaItems(0))]


def all_items():
    return [RPR.GetMediaItem(0, i) for i in range(RPR.CountMediaItems(0))]


def time_selection():
    result = RPR.GetSet_LoopTimeRange2(0, False, False, 0.0, 0.0, False)
    start, end = float(result[3]), float(result[4])
    return {"start_s": start, "end_s": end} if end > start else None


def markers_and_regions():
    """Positions and numbers (names are not readable through Python's out-parameters)."""
    found = []
    total = RPR.CountProjectMarkers(0, 0, 0)[0]
    for index in range(total):
        result = RPR.EnumProjectMarkers3(0, index, False, 0.0, 0.0, "", 0, 0)
        found.append({"isrgn": bool(result[3]), "pos_s": float(result[4]), "end_s": float(result[5]),
                      "number": int(result[7])})
    return found


def project_path():
    return _string(RPR.EnumProjects(-1, "", 4096), 2)


def payload(action, items, **extra):
    data = {"action": action, "script_version": SCRIPT_VERSION, "captured_at": time.time(),
            "project_path": project_path(), "items": items, "time_selection": time_selection(),
            "markers": markers_and_regions()}
    data.update(extra)
    return data


def audio_items(handles):
    items = [d for d in (describe_item(h) for h in handles) if d is not None]
    if not items:
        raise ActionError("Select at least one audio item first (MIDI items and empty items are skipped).")
    return items


def unique_sources(items):
    seen = []
    for item in items:
        if item["source"] not in seen:
            seen.append(item["source"])
    return seen


def submit(kind, inputs, options, reaper, preset=None):
    body = {"kind": kind, "inputs": inputs, "out_dir": None, "preset": preset, "options": options,
            "origin": "reaper", "reaper": reaper}
    return call_daemon("POST", "/v1/jobs", body)["id"]


def gap_in_source(item, selection):
    """The time selection mapped into the item's source file, honouring start offset and play rate."""
    start = max(selection["start_s"], item["position_s"])
    end = min(selection["end_s"], item["position_s"] + item["length_s"])
    if end <= start:
        return None
    rate = item["playrate"]
    gap_start = item["start_offset_s"] + (start - item["position_s"]) * rate
    gap_end = item["start_offset_s"] + (end - item["position_s"]) * rate
    if item["source_length_s"] > 0:
        gap_start, gap_end = max(0.0, gap_start), min(item["source_length_s"], gap_end)
    return {"start_s": gap_start, "end_s": gap_end} if gap_end > gap_start else None


def ask_preset(title, default):
    """(preset, mode) from a two-field dialog, remembered for next time; None when cancelled.

    The mode says how results come back (review regions, ripple edits or a rendered
    take); empty leaves it to the preset."""
    last = RPR.GetExtState("reamend", "last_clean_preset") or default
    last_mode = RPR.GetExtState("reamend", "last_clean_mode")
    result = RPR.GetUserInputs(title, 2, "Cleaning preset name:,Result (review / edit / render):,extrawidth=150",
                               f"{last},{last_mode}", 512)
    if not result[0]:
        return None
    fields = [*str(result[4]).split(","), "", ""][:2]
    preset, mode = fields[0].strip(), fields[1].strip().lower()
    if mode not in ("", "review", "edit", "render"):
        raise ActionError(f"Result must be review, edit or render (or empty for the preset's choice), not {mode!r}."
                          )
    RPR.SetExtState("reamend", "last_clean_preset", preset, True)
    RPR.SetExtState("reamend", "last_clean_mode", mode, True)
    return preset or None, mode or None



def queue_clean(items, *, scope, title):
    """Ask for a preset and result mode, then queue one clean job for ``items``.

    Items on several tracks are one multitrack session (time is removed only where
    every track can lose it). Returns (job id, preset, track count), or None when cancelled."""
    answer = ask_preset(title, "")
    if answer is None:
        return None
    preset, mode = answer
    tracks = {item["track_guid"] for item in items}
    reaper = payload("clean", items, scope=scope, preset=preset, mode=mode)
    job = submit("clean", unique_sources(items), {"multitrack": len(tracks) > 1}, reaper, preset)
    return job, preset, len(tracks)

# --- user feedback ------------------------------------------------------------------------


def tell(message):
    RPR.ShowConsoleMsg("reamend: " + message + "\n")


def run_action(body):
    """Run an action body, turning every failure into a message instead of a REAPER error."""
    started = time.perf_counter()
    try:
        message = body()
    except ActionError as exc:
        RPR.ShowMessageBox(str(exc), TITLE, 0)
        return
    except Exception as exc:  # a bug here must never surface as a traceback dialog only
        RPR.ShowMessageBox(f"reamend action failed unexpectedly: {exc!r}", TITLE, 0)
        return
    if message:
        tell(f"{message} ({(time.perf_counter() - started) * 1000:.0f} ms)")
