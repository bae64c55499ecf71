"""``python -m tests.reaper_standin.real_daemon``: the production daemon (``reamend daemon``), real runners."""

from __future__ import annotations

import sys

from daemon.cli import main

if __name__ == "__main__":
    sys.exit(main(["daemon"]))
