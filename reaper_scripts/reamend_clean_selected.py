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
        queued = rc.queue_clean(items, scope="selection", title="reamend: clean selected items")
        if queued is None:
            return None
        job, preset, _ = queued
        return f"cleaning queued for {len(items)} item(s) with preset {preset!r}: job {job}"

    rc.run_action(body)


_reamend_clean_selected()
