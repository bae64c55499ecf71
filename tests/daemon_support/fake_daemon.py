"""``python -m tests.daemon_support.fake_daemon``: the real daemon service with the test runner.

Configured through the environment like the real one (``REAMEND_HOME``,
``REAMEND_API_PORT``...), plus ``REAMEND_TEST_PRESETS`` ("name:job,..." hot
folders without needing preset files), ``REAMEND_TEST_READINESS`` and
``REAMEND_TEST_STABLE_S`` for the hot folder.
"""

from __future__ import annotations

import os
import sys

from daemon.hotfolder import HotPreset, HotTiming
from daemon.service import ServiceOptions, serve
from daemon.settings import load_settings
from tests.daemon_support import fake_runner


def main() -> int:
    raw = os.environ.get("REAMEND_TEST_PRESETS", "copy:clean")
    presets = [HotPreset(*item.split(":", 1)) for item in raw.split(",") if item]
    stable_s = float(os.environ.get("REAMEND_TEST_STABLE_S", "0.5"))
    options = ServiceOptions(
        lookup=fake_runner.lookup, presets=lambda: presets,
        readiness=os.environ.get("REAMEND_TEST_READINESS", "auto"),  # type: ignore[arg-type]
        hot_timing=HotTiming(stable_s=stable_s, settle_s=0.1, stale_close_s=5.0, poll_s=0.05, rescan_s=2.0))
    return serve(load_settings(), options, log_to_terminal=False)


if __name__ == "__main__":
    sys.exit(main())
