# @description reamend: Clean selected items (choose preset)
# @version 0.1.0
# @author reamend
# @about
#   Asks for a cleaning preset, then cleans the selected items (long pauses, breaths, clicks, bumps) as the preset
#   says: review markers, edits with ripple, or a rendered take.
#   Standard library only; returns at once. Needs the reamend daemon ("reamend daemon").


def _reamend_clean_selected():
    import os
    import sys

    folder = sys.path[0] if sys.path and sys.path[0] else ""
    if not os.path.isfile(os.path.join(folder, "reamend_common.py")):
        folder = os.path.join(RPR_GetResourcePath(), "Scripts", "reamend")
    if folder not in sys.path:
        sys.path.append(folder)
    import reamend_common as rc

    def body():
        items = rc.audio_items(rc.selected_items())
        answer = rc.ask_preset("reamend: clean selected items", "")
        if answer is None:
            return None
        preset, mode = answer
        tracks = {item["track_guid"] for item in items}
        reaper = rc.payload("clean", items, scope="selection", preset=preset, mode=mode)
        job = rc.submit("clean", rc.unique_sources(items), {"multitrack": len(tracks) > 1}, reaper, preset)
        return f"cleaning queued for {len(items)} item(s) with preset {preset!r}: job {job}"

    rc.run_action(body)


_reamend_clean_selected()
