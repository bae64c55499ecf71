"""``reamend doctor``: what works on this machine and what to fix."""

from __future__ import annotations

import argparse
import platform
import shutil
from pathlib import Path
from typing import Any

from daemon.console import CliContext, make_table

OPTIONAL_TOOLS = ("fluidsynth", "timidity", "sox", "ffmpeg", "espeak-ng")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("doctor", help="check Python, torch, device, models, tools, daemon, REAPER")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    checks = collect_checks(ctx)
    failed = [c for c in checks if c["status"] == "fail"]
    ctx.emit({"ok": not failed, "checks": checks}, lambda: ctx.out.print(make_table(
        "reamend doctor", ("check", "status", "detail"),
        [(c["check"], _badge(c["status"]), c["detail"]) for c in checks])))
    return 1 if failed else 0


def collect_checks(ctx: CliContext) -> list[dict[str, str]]:
    checks = [_check("python", "ok", f"{platform.python_version()} ({platform.machine()})")]
    checks += _torch_checks(ctx.settings.device)
    checks += _weight_checks()
    checks += _soundfont_checks()
    for tool in OPTIONAL_TOOLS:
        path = shutil.which(tool)
        checks.append(_check(f"tool {tool}", "ok" if path else "warn", path or "not installed (optional)"))
    checks.append(_mda_check())
    checks.append(_check("home", "ok", str(ctx.settings.home)))
    checks.append(_daemon_check(ctx))
    checks.append(_reaper_check(ctx))
    return checks


def _mda_check() -> dict[str, str]:
    """The mda Piano renderer is needed only to train (``--mda-shards``, ``--mda-clips``)."""
    from models.synth.mda_piano import MDA_PLUGIN, mda_available

    if mda_available():
        return _check("renderer mda Piano", "ok", f"scsynth + {MDA_PLUGIN.name} + supriya")
    return _check("renderer mda Piano", "warn", "training only: apt install supercollider-server sc3-plugins-server, "
                  "pip install -e '.[train]'")


def _torch_checks(device_setting: str) -> list[dict[str, str]]:
    try:
        import torch
    except ImportError as exc:
        return [_check("torch", "fail", f"not importable ({exc}); run python install.py")]
    from models.registry import native_bfloat16, pick_device

    device = pick_device(device_setting)
    detail = device
    if device == "cuda":
        detail = f"cuda ({torch.cuda.get_device_name(0)})"
    # The transcription networks are most of that job's time: without native bfloat16 it runs about half as fast.
    bfloat16 = (_check("bfloat16", "ok", "native: transcription runs its networks in bfloat16") if native_bfloat16()
                else _check("bfloat16", "warn", "not native on this CPU: transcription runs in float32, about 1.85x "
                                                 "slower (about 30x real time on 2 cores of this machine's speed)"))
    return [_check("torch", "ok", f"{torch.__version__}"), _check("device", "ok", detail), bfloat16]


def _weight_checks() -> list[dict[str, str]]:
    from models.registry import weight_statuses
    from models.transcribe.rescorers import NETWORK_NAME, stale_rescorers

    statuses = weight_statuses()
    stale = set(stale_rescorers())
    if not statuses:
        return [_check("model weights", "warn", "no models registered in models/weights/manifest.json")]
    rows = []
    for status in statuses:
        if not status.present:
            rows.append(_check(f"model {status.name}", "fail", f"missing {status.path}"))
        elif not status.ok:
            rows.append(_check(f"model {status.name}", "fail", f"checksum mismatch: {status.path}"))
        elif status.name in stale:
            rows.append(_check(f"model {status.name}", "warn", f"fitted to another {NETWORK_NAME}: decoding uses the "
                               "fixed rule until 'reamend train transcribe --rescorers' refits it"))
        else:
            detail = f"{status.path.name}, {status.size_bytes / 1e6:.2f} MB, sha256 ok"
            rows.append(_check(f"model {status.name}", "ok", detail))
    return rows


def _soundfont_checks() -> list[dict[str, str]]:
    from models.synth.sources import TRAIN_SOUNDFONTS, VALIDATION_SOUNDFONTS, find_soundfont

    rows = []
    for name in (*TRAIN_SOUNDFONTS, *VALIDATION_SOUNDFONTS):
        try:
            rows.append(_check(f"soundfont {name}", "ok", str(find_soundfont(name))))
        except FileNotFoundError:
            rows.append(_check(f"soundfont {name}", "warn", "not installed (only needed for training)"))
    return rows


def _daemon_check(ctx: CliContext) -> dict[str, str]:
    from daemon.client import DaemonClient

    api_file: Path = ctx.settings.api_file
    client = DaemonClient.from_settings(ctx.settings)
    if client is None:
        return _check("daemon", "warn", f"not running (no {api_file}); start with 'reamend daemon'")
    try:
        health = client.health()
    except Exception as exc:
        return _check("daemon", "warn", f"not reachable ({exc}); start with 'reamend daemon'")
    return _check("daemon", "ok", f"running, pid {health.get('pid')}, port {client.port}")


def _reaper_check(ctx: CliContext) -> dict[str, str]:
    from daemon.reaper.bridge import probe_reaper

    reachable, detail = probe_reaper(ctx.settings)
    return _check("REAPER", "ok" if reachable else "warn", detail)


def _check(name: str, status: str, detail: str) -> dict[str, str]:
    return {"check": name, "status": status, "detail": detail}


def _badge(status: str) -> str:
    return {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}[status]
