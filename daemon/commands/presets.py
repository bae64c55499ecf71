"""``reamend presets list|show NAME|validate FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table, mapping_table


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("presets", help="list, show and validate presets")
    actions = parser.add_subparsers(dest="presets_action", metavar="ACTION", required=True,
                                    parser_class=type(parser))
    actions.add_parser("list", help="every preset, built-in and user").set_defaults(func=_list)
    show = actions.add_parser("show", help="one preset's settings, defaults filled in")
    show.add_argument("name", help="preset name or path to a .toml file")
    show.set_defaults(func=_show)
    validate = actions.add_parser("validate", help="check preset files; report file, field, value, allowed values")
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(func=_validate)


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.presets import list_presets

    presets = list_presets(ctx.settings.user_presets_dir)
    data = [{"name": p.name, "job": p.job, "description": p.description, "builtin": p.builtin,
             "path": str(p.path)} for p in presets]
    ctx.emit(data, lambda: ctx.out.print(make_table(
        "presets", ("name", "job", "source", "description"),
        [(p.name, p.job, "built-in" if p.builtin else "user", p.description) for p in presets])))
    return 0


def _show(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.presets import find_preset

    preset = find_preset(args.name, ctx.settings.user_presets_dir)
    settings = preset.settings.model_dump(mode="json")
    data = {"name": preset.name, "job": preset.job, "description": preset.description,
            "path": str(preset.path), "settings": settings}
    ctx.emit(data, lambda: ctx.out.print(mapping_table(
        f"{preset.name} ({preset.job}): {preset.description}", settings)))
    return 0


def _validate(args: argparse.Namespace, ctx: CliContext) -> int:
    from daemon.presets import load_preset_file
    from models.errors import PresetError

    results: list[dict[str, Any]] = []
    for path in args.files:
        try:
            preset = load_preset_file(path)
            results.append({"file": str(path), "ok": True, "job": preset.job, "error": None})
        except PresetError as exc:
            results.append({"file": str(path), "ok": False, "job": None, "error": str(exc)})
    ok = all(r["ok"] for r in results)

    def render() -> None:
        for result in results:
            if result["ok"]:
                ctx.out.print(f"[green]ok[/]  {result['file']} ({result['job']})")
            else:
                ctx.out.print(f"[red]bad[/] {result['error']}")

    ctx.emit({"ok": ok, "files": results}, render)
    return 0 if ok else 4
