"""Settings of the transcribe job, as presets and API/CLI options may set them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PresetSettings(BaseModel):
    """Decoding thresholds (probabilities 0..1), note limits and output formatting."""

    model_config = ConfigDict(extra="forbid")

    onset_threshold: float = Field(default=0.35, gt=0.0, lt=1.0,
                                   description="onset probability that starts a note")
    frame_threshold: float = Field(default=0.4, gt=0.0, lt=1.0,
                                   description="frame probability that keeps a note sounding")
    offset_threshold: float = Field(default=0.8, gt=0.0, le=1.0,
                                    description="offset probability that ends a note early")
    retrigger_threshold: float = Field(default=0.6, gt=0.0, le=1.0,
                                       description="onset probability needed to re-strike a key that is still held")
    min_ioi_ms: float = Field(default=60.0, ge=0.0, le=500.0,
                              description="shortest time between two strikes of one key")
    min_note_ms: float = Field(default=30.0, ge=0.0, le=1000.0, description="shortest note written")
    ghost_ratio: float = Field(default=0.6, ge=0.0, le=1.0,
                               description="drop an onset weaker than this fraction of a coinciding onset "
                                           "an octave, twelfth or two octaves below (its partial)")
    ghost_frame_threshold: float = Field(default=0.7, ge=0.0, le=1.0,
                                         description="a possible partial must be held at this frame probability "
                                                     "for 120 ms to count as a key")
    ghost_model: bool = Field(default=True,
                              description="decide octave ghosts with the shipped rescorer, calibrated per recording "
                                          "(false: the fixed ghost_ratio / ghost_frame_threshold rule)")
    ghost_keep_threshold: float = Field(default=0.6, gt=0.0, lt=1.0,
                                        description="with the rescorer: probability of a struck key needed to keep "
                                                    "an onset under a stronger one a partial interval below")
    restrike_model: bool = Field(default=True,
                                 description="decide strikes of a key that still sounds with the shipped rescorer, "
                                             "calibrated per recording (false: the fixed retrigger_threshold)")
    restrike_keep_threshold: float = Field(default=0.3, gt=0.0, lt=1.0,
                                           description="with the rescorer: probability of a new strike needed to "
                                                       "keep an onset on a key that still sounds")
    end_model: bool = Field(default=True,
                            description="choose each note's end among candidates (frame fade, offset peaks, pedal "
                                        "releases, next strike) with the shipped rescorer (false: the fixed chain)")
    offset_snap_ms: float = Field(default=160.0, ge=0.0, le=500.0,
                                  description="move a note's end to the strongest offset peak this close")
    offset_snap_threshold: float = Field(default=0.2, gt=0.0, le=1.0,
                                         description="offset probability a peak needs to move a note's end")
    pedal_release_keys: int = Field(default=8, ge=0, le=88,
                                    description="keys whose offsets must peak together to count as a sustain pedal "
                                                "release, which holds faded notes to it (0 = off)")
    pedal_release_threshold: float = Field(default=0.2, gt=0.0, le=1.0,
                                           description="offset probability a key needs to count in a pedal release")
    pedal_release_window_ms: float = Field(default=3000.0, ge=0.0, le=10000.0,
                                           description="a note that fades at most this long before a pedal "
                                                       "release is held to it")
    min_velocity: int = Field(default=1, ge=1, le=127, description="drop notes softer than this MIDI velocity")
    tempo_bpm: float = Field(default=0.0, ge=0.0, le=400.0,
                             description="tempo written to MIDI/MusicXML; 0 = estimate")
    ppq: Literal[480, 960] = Field(default=480, description="MIDI ticks per quarter note")
    quantize: Literal["16th", "8th", "16th-triplet"] = Field(
        default="16th-triplet", description="MusicXML grid: 16ths, 8ths, or 16ths plus triplet 8ths")
