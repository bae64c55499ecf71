# @description reamend: Inpaint time selection on selected items
# @version 0.1.0
# @author reamend
# @about
#   Fills the time selection inside each selected audio item with ML inpainting; the result comes back
#   as a new active take named "reamend inpaint".
#   Standard library only; returns at once. Needs the reamend daemon ("reamend daemon").


def _reamend_inpaint_time_selection():
    import os
    import sys

    folder = sys.path[0] if sys.path and sys.path[0] else ""
    if not os.path.isfile(os.path.join(folder, "reamend_common.py")):
        folder = os.path.join(RPR_GetResourcePath(), "Scripts", "reamend")
    if folder not in sys.path:
        sys.path.append(folder)
    import reamend_common as rc

    def body():
        selection = rc.time_selection()
        if selection is None:
            raise rc.ActionError("Make a time selection over the gap to fill first.")
        items = rc.audio_items(rc.selected_items())
        jobs = []
        for item in items:
            gap = rc.gap_in_source(item, selection)
            if gap is None:
                continue
            reaper = rc.payload("inpaint", [item])
            jobs.append(rc.submit("inpaint", [item["source"]], {"gaps": [gap]}, reaper))
        if not jobs:
            raise rc.ActionError("The time selection does not overlap any selected audio item.")
        return "inpaint queued for {} item(s): job {}".format(len(jobs), ", ".join(jobs))

    rc.run_action(body)


_reamend_inpaint_time_selection()
