# @description reamend: Transcribe selected items to MIDI
# @version 0.1.0
# @author reamend
# @about
#   Transcribes the selected audio items (piano) to MIDI; each result appears as a MIDI item on a new
#   track under its source track.
#   Standard library only; returns at once. Needs the reamend daemon ("reamend daemon").


def _reamend_transcribe():
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
        reaper = rc.payload("transcribe", items)
        job = rc.submit("transcribe", rc.unique_sources(items), {}, reaper)
        return f"transcription queued for {len(items)} item(s): job {job}"

    rc.run_action(body)


_reamend_transcribe()
