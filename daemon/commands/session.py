"""``reamend session apply PRESET project.RPP``: clean a closed REAPER project into a new .RPP."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.console import CliContext, mapping_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "session", help="apply a cleaning preset to a closed REAPER project (.RPP), writing a new one",
        description="Runs the clean job on every audio source of the project (multitrack when it has several "
                    "tracks) and writes the same edits the live REAPER write-back makes into a NEW project "
                    "file. The original .RPP and the audio files are never modified.")
    actions = parser.add_subparsers(dest="session_action", metavar="ACTION", required=True)
    apply = actions.add_parser("apply", help="clean every track of a project with a preset")
    apply.add_argument("preset", help="cleaning preset name or .toml path")
    apply.add_argument("project", type=Path, help="the REAPER project (.RPP), closed in REAPER")
    apply.add_argument("--out", type=Path, help="new project file (default: <name>.reamend.RPP beside it)")
    apply.add_argument("--mode", choices=("review", "edit", "render"),
                       help="regions to review, ripple edits, or rendered takes (default: the preset's "
                            "reaper_mode, else review when the preset only labels, else edit)")
    apply.set_defaults(func=_apply)


def _apply(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.jobs.base import JobContext, JobSpec, run_job
    from daemon.reaper.rppfile import RppProject, clean_project_file
    from daemon.reaper.timeline import mode_from
    from models.clean.edits import load_edits
    from models.errors import UserInputError

    source = args.project.resolve()
    if not source.is_file():
        raise UserInputError(f"project not found: {source}")
    out = (args.out or source.with_name(f"{source.stem}.reamend{source.suffix}")).resolve()
    project = RppProject.load(source)
    items = project.placed_items()
    if not items:
        raise UserInputError(f"{source.name} has no audio items to clean")
    missing = sorted({i.source for i in items if not Path(i.source).is_file()})
    if missing:
        raise UserInputError(f"audio file(s) of the project not found: {', '.join(missing)}")
    inputs = tuple(dict.fromkeys(Path(i.source) for i in items))
    files_dir = out.with_name(f"{out.stem}-files")
    spec = JobSpec(kind="clean", inputs=inputs, out_dir=files_dir, preset=args.preset,
                   options={"multitrack": len({i.track_key for i in items}) > 1})
    with ctx.progress("clean session") as progress:
        outcome = run_job(spec, JobContext(progress=progress, device=ctx.settings.device,
                                           user_presets_dir=ctx.settings.user_presets_dir))
    edits = [(load_edits(o.path), str(o.source) if o.source else None) for o in outcome.outputs if o.role == "edits"]
    cleaned = {str(o.source): o.path for o in outcome.outputs if o.role == "audio" and o.source}
    mode = mode_from([e for e, _ in edits], args.mode, outcome.summary.get("reaper_mode"))
    summary = clean_project_file(project, edits, cleaned, mode=mode)
    project.save(out)
    result = {"project": str(out), "original": str(source), "job_outputs": str(files_dir),
              "inputs": len(inputs), **summary}
    ctx.emit(result, lambda: ctx.out.print(mapping_table(f"session cleaned: {out.name}", result)))
    return 0
