"""Settings of the clean job, as presets and request options set them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the planner pulls in scipy; listing presets should stay instant
    from models.clean.planner import PlanSettings


class PresetSettings(BaseModel):
    """Every field maps onto :class:`models.clean.planner.PlanSettings` (docs/clean.md explains each)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_pause_ms: float = Field(1000.0, ge=100, le=60000, description="pauses longer than this are shortened")
    target_pause_ms: float = Field(600.0, ge=50, le=30000, description="a shortened pause lasts this long")
    min_pause_ms: float = Field(150.0, ge=0, le=5000, description="removing sounds never leaves a gap shorter")
    speech_margin_ms: float = Field(60.0, ge=0, le=1000, description="audio kept untouched around speech")
    speech_threshold: float = Field(0.2, gt=0, le=1,
                                    description="speech probability above which a frame is protected")
    breath_mode: Literal["keep", "attenuate", "remove"] = "attenuate"
    breath_gain_db: float = Field(-15.0, ge=-80, le=0)
    min_breath_ms: float = Field(60.0, ge=10, le=2000)
    click_mode: Literal["keep", "repair"] = "repair"
    max_repair_ms: float = Field(20.0, ge=1, le=100)
    bump_mode: Literal["keep", "attenuate", "cut"] = "cut"
    noise_mode: Literal["keep", "attenuate", "cut"] = "attenuate"
    noise_gain_db: float = Field(-30.0, ge=-80, le=0)
    max_noise_s: float = Field(3.0, ge=0.1, le=600)
    crossfade_ms: float = Field(10.0, ge=1, le=100)
    # How REAPER applies the result (docs/reaper.md); None lets the edits decide: review
    # regions when every action is "keep", else edits. Not a planning setting.
    reaper_mode: Literal["review", "edit", "render"] | None = None

    def plan_settings(self) -> PlanSettings:
        from models.clean.planner import PlanSettings

        return PlanSettings(**self.model_dump(exclude={"reaper_mode"}))
