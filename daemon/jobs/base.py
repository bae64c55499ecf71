"""The job contract: a spec in, files and a summary out, same for every entry point.

The CLI, the daemon's worker, the hot folder and the REAPER bridge all describe
work as a :class:`JobSpec` and get a :class:`JobOutcome` back, so a job run from
REAPER produces exactly the files the command line would.
Each kind's runner lives in ``daemon/jobs/<kind>.py`` as ``run(spec, ctx)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from models.progress import CancelToken, ProgressFn, no_progress

JobKind = Literal["inpaint", "clean", "transcribe"]
JOB_KINDS: tuple[JobKind, ...] = ("inpaint", "clean", "transcribe")


@dataclass(frozen=True)
class JobSpec:
    """What to do. ``options`` override preset fields and carry job-specific inputs
    (e.g. ``gaps`` for inpaint, ``multitrack`` for clean, ``report``: bool)."""

    kind: JobKind
    inputs: tuple[Path, ...]
    out_dir: Path
    preset: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "inputs": [str(p) for p in self.inputs], "out_dir": str(self.out_dir),
                "preset": self.preset, "options": dict(self.options)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        return cls(kind=data["kind"], inputs=tuple(Path(p) for p in data["inputs"]),
                   out_dir=Path(data["out_dir"]), preset=data.get("preset"),
                   options=dict(data.get("options") or {}))


@dataclass(frozen=True)
class OutputFile:
    """One file a job wrote. ``role`` is e.g. audio, edits, csv, labels, midi, musicxml, notes, gaps, report."""

    role: str
    path: Path
    source: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "path": str(self.path), "source": str(self.source) if self.source else None}


@dataclass(frozen=True)
class JobOutcome:
    outputs: tuple[OutputFile, ...]
    summary: Mapping[str, Any]
    messages: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"outputs": [o.to_json() for o in self.outputs], "summary": dict(self.summary),
                "messages": list(self.messages)}

    def paths(self, role: str) -> list[Path]:
        return [o.path for o in self.outputs if o.role == role]


@dataclass
class JobContext:
    """What a runner gets besides the spec: where to report, how to stop, what to run on."""

    progress: ProgressFn = no_progress
    cancel: CancelToken = field(default_factory=CancelToken)
    device: str = "auto"
    user_presets_dir: Path | None = None


class JobRunner(Protocol):
    def __call__(self, spec: JobSpec, ctx: JobContext) -> JobOutcome: ...


def runner_for(kind: str) -> JobRunner:
    """Import ``daemon.jobs.<kind>`` on demand: torch and models load only when needed."""
    if kind not in JOB_KINDS:
        from models.errors import UserInputError

        raise UserInputError(f"unknown job kind {kind!r}; allowed: {', '.join(JOB_KINDS)}")
    module = importlib.import_module(f"daemon.jobs.{kind}")
    runner: JobRunner = module.run
    return runner


def run_job(spec: JobSpec, ctx: JobContext) -> JobOutcome:
    """Run a job in this process."""
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    return runner_for(spec.kind)(spec, ctx)
