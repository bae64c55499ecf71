"""``reamend demo``: run every job on the bundled example audio and summarize.

The examples in ``examples/`` are small clips the project synthesized from
allowed sources (see README); the demo writes results to ``./reamend-demo/``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table
from daemon.jobs.base import JobContext, JobKind, JobSpec, run_job
from models.errors import ReamendError, UserInputError

EXAMPLES_DIR = Path(__file__).resolve().parent.parent.parent / "examples"


@dataclass(frozen=True)
class DemoStep:
    kind: JobKind
    example: str
    preset: str | None
    options: dict[str, Any] = field(default_factory=dict)
    what: str = ""


STEPS = (
    DemoStep("inpaint", "piano-dropouts.flac", "vhs-piano", {"detect": True, "report": True},
             "find and fill tape/digital dropouts in a piano recording"),
    DemoStep("clean", "podcast.flac", "podcast-gentle", {"report": True},
             "shorten long pauses, attenuate breaths, cut clicks and bumps"),
    DemoStep("transcribe", "piano.flac", None, {"report": True, "musicxml": True},
             "piano audio to MIDI notes"),
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run every job on the bundled example audio")
    parser.add_argument("--out", type=Path, default=Path("reamend-demo"), help="output folder (default ./reamend-demo)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    out_root: Path = args.out.resolve()
    results = [_run_step(step, out_root, ctx) for step in STEPS]
    failed = [r for r in results if r["status"] != "ok"]

    def render() -> None:
        ctx.out.print(make_table(
            f"reamend demo: results in {out_root}/<job>/", ("job", "time (s)", "result", "files written"),
            [(f"{r['job']}\n[dim]{r['example']}[/]", f"{r['elapsed_s']:.2f}",
              r["headline"] if r["status"] == "ok" else f"[red]{r['status']}[/]",
              "\n".join(Path(o).name for o in r["outputs"])) for r in results]))

    ctx.emit({"out_dir": str(out_root), "results": results}, render)
    return 1 if failed else 0


def _run_step(step: DemoStep, out_root: Path, ctx: CliContext) -> dict[str, Any]:
    example = EXAMPLES_DIR / step.example
    record: dict[str, Any] = {"job": step.kind, "example": step.example, "what": step.what,
                              "status": "ok", "elapsed_s": 0.0, "outputs": [], "headline": "", "summary": {}}
    started = time.perf_counter()
    try:
        if not example.exists():
            raise UserInputError(f"bundled example {example} is missing; is this a complete checkout?")
        spec = JobSpec(kind=step.kind, inputs=(example,), out_dir=out_root / step.kind,
                       preset=step.preset, options=step.options)
        with ctx.progress(f"{step.kind}: {step.example}") as progress:
            outcome = run_job(spec, JobContext(progress=progress, device=ctx.settings.device,
                                               user_presets_dir=ctx.settings.user_presets_dir))
        record["outputs"] = [str(o.path.relative_to(out_root)) for o in outcome.outputs]
        record["summary"] = dict(outcome.summary)
        record["headline"] = str(outcome.summary.get("headline", ""))
    except ReamendError as exc:
        record["status"] = f"failed: {exc}"
    record["elapsed_s"] = round(time.perf_counter() - started, 3)
    return record
