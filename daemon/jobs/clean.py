"""The clean job: detect pauses, breaths, clicks and bumps; write cleaned audio and the edit list.

Options (``JobSpec.options``): ``multitrack`` (bool: inputs are one session's
mics, planned together), ``report`` (bool: also draw a PNG), and any field of
:class:`daemon.jobs.clean_preset.PresetSettings` to override the preset.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from daemon.jobs.base import JobContext, JobOutcome, JobSpec, OutputFile
from daemon.jobs.clean_preset import PresetSettings
from daemon.presets import job_settings
from models.audio_io import audio_info
from models.clean.edits import EditList
from models.errors import UserInputError
from models.progress import scaled

log = logging.getLogger(__name__)

DEFAULT_PRESET = "podcast-gentle"
JOB_OPTIONS = ("multitrack", "report")


def _settings(spec: JobSpec, ctx: JobContext) -> tuple[str, PresetSettings]:
    """The preset's name (a ``.toml`` path counts by its stem) and the settings to run with."""
    name = spec.preset or DEFAULT_PRESET
    settings = job_settings(PresetSettings, "clean", name, spec.options, job_options=JOB_OPTIONS,
                            user_dir=ctx.user_presets_dir)
    return Path(name).stem if name.endswith(".toml") else name, settings


def _check_inputs(inputs: tuple[Path, ...]) -> None:
    if not inputs:
        raise UserInputError("clean needs at least one input file")
    for path in inputs:
        audio_info(path)  # raises AudioFileError with a readable reason
    stems = Counter(p.stem for p in inputs)
    clashes = sorted(stem for stem, count in stems.items() if count > 1)
    if clashes:
        raise UserInputError(f"inputs share a file name ({', '.join(clashes)}): outputs would collide; "
                             "rename them or run them separately")


_VERBS = {"shorten": "shortened", "attenuate": "attenuated", "cut": "cut", "repair": "repaired"}


def headline(edits: EditList) -> str:
    """One line a person reads first: time removed and what was done, most frequent first."""
    done = Counter((e.label, e.action) for e in edits.events if e.action != "keep")
    parts = [f"{count} {label}{'s' if count > 1 else ''} {_VERBS[action]}"
             for (label, action), count in done.most_common()]
    return (f"removed {edits.removed_s:.1f} s of {edits.duration_s:.1f} s"
            + (f": {', '.join(parts)}" if parts else ": nothing to edit"))


def _summary(edits: EditList) -> dict[str, Any]:
    counts = Counter(f"{e.label} {e.action}" for e in edits.events)
    return {"headline": headline(edits), "duration_s": round(edits.duration_s, 3),
            "cleaned_duration_s": round(edits.cleaned_duration_s, 3),
            "removed_s": round(edits.removed_s, 3), "cuts": len(edits.cuts),
            **{f"events: {key}": value for key, value in sorted(counts.items())}}


def _write_outputs(edits: EditList, analyses: Any, paths: tuple[Path, ...], spec: JobSpec, ctx: JobContext,
                   *, report: bool, start: float, end: float) -> list[OutputFile]:
    from models.clean.export import write_audacity_labels, write_csv, write_json
    from models.clean.render import render_track
    from models.clean.report import write_report

    outputs: list[OutputFile] = []
    out_dir = spec.out_dir
    for index, path in enumerate(paths):
        track = index if len(paths) > 1 else 0
        stem = path.stem
        part = scaled(ctx.progress, start + (end - start) * index / len(paths),
                      start + (end - start) * (index + 1) / len(paths))
        cleaned = out_dir / f"{stem}.cleaned{path.suffix.lower()}"
        result = render_track(path, cleaned, edits, track=track, inputs=spec.inputs, progress=part,
                              cancel=ctx.cancel)
        outputs.append(OutputFile("audio", result.path, path))
        outputs.append(OutputFile("edits", write_json(edits, out_dir / f"{stem}.edits.json"), path))
        outputs.append(OutputFile("csv", write_csv(edits, out_dir / f"{stem}.edits.csv"), path))
        outputs.append(OutputFile("labels", write_audacity_labels(edits, out_dir / f"{stem}.labels.txt"), path))
        if report:
            png = write_report(edits, analyses, out_dir / f"{stem}.report.png", names=[p.name for p in paths])
            outputs.append(OutputFile("report", png, path))
    return outputs


def run(spec: JobSpec, ctx: JobContext) -> JobOutcome:
    from models.clean.pipeline import clean_session, load_detector

    preset_name, settings = _settings(spec, ctx)
    _check_inputs(spec.inputs)
    multitrack = bool(spec.options.get("multitrack", False))
    report = bool(spec.options.get("report", False))
    model = load_detector(device=ctx.device)
    sessions = [spec.inputs] if multitrack else [(p,) for p in spec.inputs]
    outputs: list[OutputFile] = []
    messages: list[str] = []
    summary: dict[str, Any] = {}
    for number, paths in enumerate(sessions):
        lo, hi = number / len(sessions), (number + 1) / len(sessions)
        ctx.progress(lo, f"analysing {paths[0].name}")
        result = clean_session(paths, model, settings.plan_settings(), preset=preset_name,
                               progress=scaled(ctx.progress, lo, lo + 0.7 * (hi - lo)), cancel=ctx.cancel)
        if not any((a.labels == 0).any() for a in result.analyses):
            messages.append(f"{', '.join(p.name for p in paths)}: no speech detected; nothing was cut")
        outputs.extend(_write_outputs(result.edits, result.analyses, paths, spec, ctx, report=report,
                                      start=lo + 0.7 * (hi - lo), end=hi))
        key = paths[0].name if len(sessions) > 1 else "session"
        for field_name, value in _summary(result.edits).items():
            summary[f"{key}: {field_name}" if len(sessions) > 1 else field_name] = value
    summary["preset"] = preset_name
    if settings.reaper_mode is not None:
        summary["reaper_mode"] = settings.reaper_mode
    return JobOutcome(outputs=tuple(outputs), summary=summary, messages=tuple(messages))
