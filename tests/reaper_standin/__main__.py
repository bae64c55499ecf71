"""``python -m tests.reaper_standin``: start the headless REAPER stand-in."""

from __future__ import annotations

import sys

from tests.reaper_standin.host import main

if __name__ == "__main__":
    sys.exit(main())
