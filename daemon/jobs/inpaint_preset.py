"""Settings of the inpaint job, as presets and API/CLI options may set them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PresetSettings(BaseModel):
    """Detection and filling. Durations in ms/s, levels in dB, as the field names say."""

    model_config = ConfigDict(extra="forbid")

    detect: bool = Field(default=False, description="find dropouts automatically (besides any given gaps)")
    fill: bool = Field(default=True, description="fill the gaps; false = only report what was found")
    detect_digital: bool = Field(default=True, description="runs of exact zeros or a held sample value")
    detect_tape: bool = Field(default=True, description="sudden drops of level and treble that recover")
    detect_clicks: bool = Field(default=False, description="AR-residual outliers (short clicks)")
    min_confidence: float = Field(default=0.7, ge=0.0, le=1.0, description="report/fill detections at least this sure")
    tape_drop_db: float = Field(default=16.0, gt=0.0, le=60.0, description="level drop that starts a tape dropout")
    min_digital_ms: float = Field(default=1.0, gt=0.0, le=100.0, description="shortest digital dropout")
    max_gap_ms: float = Field(default=1200.0, gt=0.0, le=10_000.0, description="longest dropout the detector reports")
    margin_ms: float = Field(default=4.0, ge=0.0, le=50.0, description="widen tape dropouts by this on each side")
    click_threshold: float = Field(default=12.0, gt=1.0, le=100.0, description="click residual / robust noise level")
    method: Literal["auto", "janssen", "model", "similarity", "zeros"] = Field(
        default="auto", description="fill method; auto chooses by gap length")
    janssen_max_ms: float = Field(default=60.0, ge=0.0, le=1000.0, description="gaps up to this use Janssen AR")
    fade_ms: float = Field(default=25.0, ge=0.0, le=100.0, description="crossfade inside each gap border")
    context_s: float = Field(default=2.0, gt=0.0, le=10.0, description="context the model sees on each side")
    phase_iterations: int = Field(default=80, ge=1, le=1000, description="phase reconstruction iterations")
