"""Frame classes and the frame grid shared by features, model, planner and benchmark."""

from __future__ import annotations

from typing import Literal

#: Analysis rate: speech, breaths and clicks are all well described below 8 kHz.
ANALYSIS_SR = 16000
#: One label every 10 ms.
HOP = 160
FRAME_S = HOP / ANALYSIS_SR

SPEECH, PAUSE, BREATH, CLICK, BUMP, NOISE = range(6)
CLASS_NAMES: tuple[str, ...] = ("speech", "pause", "breath", "click", "bump", "noise")
NUM_CLASSES = len(CLASS_NAMES)

EventLabel = Literal["pause", "breath", "click", "bump", "noise"]
EVENT_LABELS: tuple[EventLabel, ...] = ("pause", "breath", "click", "bump", "noise")
