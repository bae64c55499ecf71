# @description reamend: Detect and fill dropouts in selected items
# @version 0.1.0
# @author reamend
# @about
#   Finds dropouts (digital silence, clicks of missing audio) in the selected audio items and fills
#   them; each item gets a new active take.
#   Standard library only; returns at once. Needs the reamend daemon ("reamend daemon").


def _reamend_detect_dropouts():
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
        reaper = rc.payload("detect", items)
        job = rc.submit("inpaint", rc.unique_sources(items), {"detect": True}, reaper)
        return f"dropout detection queued for {len(items)} item(s): job {job}"

    rc.run_action(body)


_reamend_detect_dropouts()
