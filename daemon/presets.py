"""Presets: named TOML files that bundle a job's settings, validated with pydantic.

A preset file looks like::

    job = "clean"
    description = "Shorten long pauses, attenuate breaths"
    [settings]
    max_pause_ms = 700

Built-in presets live in the repository's ``presets/`` folder; users add or
override them in their presets folder (``Settings.user_presets_dir``). Each job
defines its settings model (``extra="forbid"``, units in field names, Literal
choices) in ``daemon/jobs/<job>_preset.py`` as ``PresetSettings``.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tomllib
from pydantic import BaseModel, ValidationError

from models.errors import PresetError

BUILTIN_PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
JOBS = ("clean", "inpaint", "transcribe")
SettingsT = TypeVar("SettingsT", bound=BaseModel)


@dataclass(frozen=True)
class Preset:
    name: str
    job: str
    description: str
    settings: BaseModel
    path: Path
    builtin: bool


def settings_model(job: str) -> type[BaseModel]:
    """The pydantic settings class of ``job`` (imported lazily: jobs load on demand)."""
    if job not in JOBS:
        raise PresetError(f"unknown job {job!r}; allowed: {', '.join(JOBS)}")
    module = importlib.import_module(f"daemon.jobs.{job}_preset")
    model: type[BaseModel] = module.PresetSettings
    return model


def preset_dirs(user_dir: Path | None) -> list[tuple[Path, bool]]:
    """Search order: the user's folder first (so users can override), then built-ins."""
    dirs: list[tuple[Path, bool]] = []
    if user_dir is not None:
        dirs.append((user_dir, False))
    dirs.append((BUILTIN_PRESETS_DIR, True))
    return dirs


def list_presets(user_dir: Path | None = None) -> list[Preset]:
    """All valid presets by name (user presets shadow built-ins); invalid files raise."""
    found: dict[str, Preset] = {}
    for folder, builtin in preset_dirs(user_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            if path.stem not in found:
                found[path.stem] = load_preset_file(path, builtin=builtin)
    return sorted(found.values(), key=lambda p: (p.job, p.name))


def find_preset(name_or_path: str, user_dir: Path | None = None, *, job: str | None = None) -> Preset:
    """Resolve a preset by name, or by path to a ``.toml`` file; check it is for ``job``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        preset = load_preset_file(candidate, builtin=False)
    else:
        preset = _find_by_name(name_or_path, user_dir)
    if job is not None and preset.job != job:
        raise PresetError(f"preset {preset.name!r} is for job {preset.job!r}, not {job!r}")
    return preset


def load_preset_file(path: Path, *, builtin: bool = False) -> Preset:
    """Parse and validate one preset file; errors name file, field, value and allowed values."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read preset ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"{path}: not valid TOML ({exc})") from exc
    unknown = set(data) - {"job", "description", "settings"}
    if unknown:
        raise PresetError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: job, description, settings")
    job = data.get("job")
    if job not in JOBS:
        raise PresetError(f"{path}: field 'job' = {job!r} is not allowed; allowed values: {', '.join(JOBS)}")
    model = settings_model(job)
    raw_settings = data.get("settings", {})
    if not isinstance(raw_settings, dict):
        raise PresetError(f"{path}: 'settings' must be a table")
    try:
        settings = model.model_validate(raw_settings)
    except ValidationError as exc:
        raise PresetError(format_validation_error(path, model, exc)) from exc
    return Preset(name=path.stem, job=job, description=str(data.get("description", "")),
                  settings=settings, path=path, builtin=builtin)


def apply_overrides(settings: BaseModel, overrides: dict[str, Any], *, source: str = "options") -> BaseModel:
    """A copy of ``settings`` with fields replaced, re-validated (for CLI flags and API requests)."""
    if not overrides:
        return settings
    model = type(settings)
    try:
        return model.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        raise PresetError(format_validation_error(Path(source), model, exc)) from exc


def job_settings(model: type[SettingsT], job: str, preset: str | None, options: Mapping[str, Any], *,
                 job_options: Collection[str], user_dir: Path | None) -> SettingsT:
    """The settings a job runs with: the preset's (or the defaults), then the request's options on top.

    ``job_options`` name options that are inputs rather than settings (gaps, report flags, ...);
    ``None`` values mean "not given" and keep the preset's value.
    """
    base: BaseModel = model() if preset is None else find_preset(preset, user_dir, job=job).settings
    overrides = {k: v for k, v in options.items() if k not in job_options and v is not None}
    settings = apply_overrides(base, overrides, source="options")
    if not isinstance(settings, model):
        raise PresetError(f"preset {preset!r} does not hold {job} settings")
    return settings


def format_validation_error(path: Path, model: type[BaseModel], exc: ValidationError) -> str:
    """One line per problem: file, field, the bad value and what is allowed."""
    lines = [f"{path}: invalid preset settings"]
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "<settings>"
        value = error.get("input")
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(model.model_fields))
            lines.append(f"  field {field!r}: unknown field; allowed fields: {allowed}")
            continue
        allowed_values = _allowed_values(model, str(error["loc"][0])) if error["loc"] else None
        hint = f"; allowed values: {allowed_values}" if allowed_values else ""
        lines.append(f"  field {field!r}: value {value!r} rejected ({error['msg']}){hint}")
    return "\n".join(lines)


def _allowed_values(model: type[BaseModel], field_name: str) -> str | None:
    field = model.model_fields.get(field_name)
    if field is None:
        return None
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return ", ".join(repr(v) for v in typing.get_args(annotation))
    bounds = [f"{name} {getattr(meta, name)}" for meta in field.metadata
              for name in ("ge", "gt", "le", "lt") if getattr(meta, name, None) is not None]
    return ", ".join(bounds) or None


def _find_by_name(name: str, user_dir: Path | None) -> Preset:
    for folder, builtin in preset_dirs(user_dir):
        path = folder / f"{name}.toml"
        if path.exists():
            return load_preset_file(path, builtin=builtin)
    known = sorted({p.stem for folder, _ in preset_dirs(user_dir) if folder.is_dir() for p in folder.glob("*.toml")})
    raise PresetError(f"no preset named {name!r}; known presets: {', '.join(known) or '(none)'}")
