# @description reamend: Status
# @version 0.1.0
# @author reamend
# @about
#   Shows whether the reamend daemon runs, its queue and the last jobs with their write-back results.
#   Standard library only; returns at once. Needs the reamend daemon ("reamend daemon").


def _reamend_status():
    import os
    import sys

    folder = sys.path[0] if sys.path and sys.path[0] else ""
    if not os.path.isfile(os.path.join(folder, "reamend_common.py")):
        folder = os.path.join(RPR_GetResourcePath(), "Scripts", "reamend")
    if folder not in sys.path:
        sys.path.append(folder)
    import reamend_common as rc

    def body():
        health = rc.call_daemon("GET", "/v1/health")
        jobs = rc.call_daemon("GET", "/v1/jobs?limit=8")["jobs"]
        lines = ["daemon pid {} on {}, queue: {} queued, {} running".format(
            health.get("pid"), health.get("device"), health["queue"].get("queued"), health["queue"].get("running"))]
        for job in jobs:
            writeback = (job.get("writeback") or {}).get("status", "")
            lines.append("  {} {:<10} {:<9} {:>4.0f}% {} {}".format(
                job["id"], job["kind"], job["state"], 100 * (job.get("progress") or 0), writeback,
                job.get("error") or ""))
        rc.tell("\n".join(lines))
        return None

    rc.run_action(body)


_reamend_status()
