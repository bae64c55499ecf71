# @description reamend: Clean whole project with preset
# @version 0.1.0
# @author reamend
# @about
#   Asks for a cleaning preset, then cleans every audio item of the project; multitrack-aware (time is
#   only removed where every track can lose it).
#   Standard library only; returns at once. Needs the reamend daemon ("reamend daemon").


def _reamend_clean_project():
    import os
    import sys

    folder = sys.path[0] if sys.path and sys.path[0] else ""
    if not os.path.isfile(os.path.join(folder, "reamend_common.py")):
        folder = os.path.join(RPR_GetResourcePath(), "Scripts", "reamend")
    if folder not in sys.path:
        sys.path.append(folder)
    import reamend_common as rc

    def body():
        items = rc.audio_items(rc.all_items())
        queued = rc.queue_clean(items, scope="project", title="reamend: clean whole project")
        if queued is None:
            return None
        job, _, n_tracks = queued
        return f"project cleaning queued ({len(items)} items, {n_tracks} tracks): job {job}"

    rc.run_action(body)


_reamend_clean_project()
