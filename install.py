#!/usr/bin/env python3
"""Set up reamend on this machine: ``python install.py`` (standard library only).

Creates ``.venv`` (or uses the running interpreter with ``--no-venv``), installs
PyTorch, then reamend itself (editable) with its ``reamend`` command.

PyTorch is installed first and on purpose: a plain ``pip install torch`` on
Linux pulls gigabytes of CUDA packages. Without ``--cuda`` (and no NVIDIA GPU
detected) we resolve ``torch==TORCH_VERSION`` with a dry run first and only
accept a build that brings no CUDA libraries, falling back to PyTorch's CPU
index. With ``--cuda`` or a detected GPU we install the CUDA build. A torch that
is already installed is kept. Re-running is safe and quick: the package step is
skipped when nothing changed since the last successful run.

Options: --no-venv, --dev (test tools), --cuda / --cpu, --service (start the
daemon at login), --reaper [--reaper-path DIR] (install REAPER actions),
--uninstall (with --service/--reaper: undo those).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TORCH_VERSION = "2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP_NAME = ".reamend-install-stamp"
MIN_PYTHON = (3, 10)


class StepFailed(Exception):
    def __init__(self, step: str, hint: str) -> None:
        super().__init__(step)
        self.step = step
        self.hint = hint


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    done: list[str] = []
    try:
        check_python()
        python = ensure_environment(args, done)
        ensure_torch(python, args, done)
        ensure_package(python, args, done)
        if args.service:
            run_step("daemon service", [str(python), "-m", "daemon.service_install",
                                        *(["--uninstall"] if args.uninstall else [])])
            done.append("daemon service " + ("removed" if args.uninstall else "installed"))
        if args.reaper:
            extra = ["--reaper-path", str(args.reaper_path)] if args.reaper_path else []
            run_step("REAPER actions", [str(python), "-m", "daemon.reaper.install", *extra,
                                        *(["--uninstall"] if args.uninstall else [])])
            done.append("REAPER actions " + ("removed" if args.uninstall else "installed"))
    except StepFailed as exc:
        say(f"\nFAILED: {exc.step}\n  how to fix: {exc.hint}")
        return 1
    elapsed = time.monotonic() - started
    say(f"\nreamend is set up ({elapsed:.0f} s):")
    for line in done:
        say(f"  - {line}")
    say(next_steps(python, args))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Set up reamend.")
    parser.add_argument("--no-venv", action="store_true", help="install into the running Python instead of .venv")
    parser.add_argument("--dev", action="store_true", help="also install the test and lint tools")
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--cuda", action="store_true", help="install PyTorch's CUDA build")
    device.add_argument("--cpu", action="store_true", help="install PyTorch's CPU build even if a GPU is present")
    parser.add_argument("--service", action="store_true", help="run the daemon at login (systemd/launchd)")
    parser.add_argument("--reaper", action="store_true", help="install the REAPER actions")
    parser.add_argument("--reaper-path", type=Path, help="REAPER resource folder (default: found automatically)")
    parser.add_argument("--uninstall", action="store_true", help="with --service/--reaper: remove them again")
    return parser.parse_args(argv)


def check_python() -> None:
    if sys.version_info < MIN_PYTHON:
        raise StepFailed(f"Python {platform.python_version()} is too old",
                         "install Python 3.10 or newer and run this script with it")


def ensure_environment(args: argparse.Namespace, done: list[str]) -> Path:
    if args.no_venv:
        done.append(f"using the current Python {sys.executable}")
        return Path(sys.executable)
    python = venv_python(VENV)
    if python.exists():
        done.append(f"virtual environment {VENV} kept")
        return python
    say(f"creating virtual environment {VENV} ...")
    run_step("create virtual environment", [sys.executable, "-m", "venv", str(VENV)],
             hint="on Debian/Ubuntu install python3-venv (apt-get install python3-venv)")
    done.append(f"virtual environment created in {VENV}")
    return python


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def installed_torch(python: Path) -> str | None:
    probe = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                           capture_output=True, text=True)
    return probe.stdout.strip() if probe.returncode == 0 else None


def gpu_present() -> bool:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    return subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def ensure_torch(python: Path, args: argparse.Namespace, done: list[str]) -> None:
    current = installed_torch(python)
    if current is not None:
        done.append(f"PyTorch {current} already installed, kept")
        return
    want_cuda = args.cuda or (gpu_present() and not args.cpu)
    spec = f"torch=={TORCH_VERSION}"
    if want_cuda:
        say(f"installing PyTorch {TORCH_VERSION} with CUDA (large download) ...")
        # --isolated ignores local pip configuration (find-links to CPU wheels) so pip's
        # default index serves its CUDA build.
        run_step("install PyTorch (CUDA)", pip(python, "--isolated", "install", spec),
                 hint="check the network, or run again with --cpu")
    elif resolves_without_cuda(python, spec):
        say(f"installing PyTorch {TORCH_VERSION} (CPU build) ...")
        run_step("install PyTorch (CPU)", pip(python, "install", spec),
                 hint=f"try: {python} -m pip install {spec} --index-url {CPU_INDEX}")
    else:
        say(f"installing PyTorch {TORCH_VERSION} (CPU build from {CPU_INDEX}) ...")
        run_step("install PyTorch (CPU)", pip(python, "install", spec, "--index-url", CPU_INDEX),
                 hint="check the network, or install torch yourself and run this script again")
    done.append(f"PyTorch {installed_torch(python)} installed ({'CUDA' if want_cuda else 'CPU'} build)")


def resolves_without_cuda(python: Path, spec: str) -> bool:
    """Dry-run pip and accept its choice only if it downloads no CUDA libraries."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        result = subprocess.run(pip(python, "install", "--dry-run", "--quiet", "--report", str(report), spec),
                                capture_output=True, text=True)
        if result.returncode != 0 or not report.exists():
            return False
        names = [item["metadata"]["name"].lower() for item in json.loads(report.read_text()).get("install", [])]
    return not any(name.startswith(("nvidia-", "cuda-", "triton")) for name in names)


def ensure_package(python: Path, args: argparse.Namespace, done: list[str]) -> None:
    target = "." + ("[dev]" if args.dev else "")
    stamp_file = (VENV if not args.no_venv else ROOT / ".venv-stamp-dir") / STAMP_NAME
    stamp = package_stamp(target)
    if stamp_file.exists() and stamp_file.read_text() == stamp and reamend_importable(python):
        done.append("reamend already installed and up to date")
        return
    say(f"installing reamend{' with dev tools' if args.dev else ''} ...")
    run_step("install reamend", pip(python, "install", "--quiet", "-e", target), cwd=ROOT,
             hint="read pip's message above; a missing compiler or network is the usual cause")
    stamp_file.parent.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(stamp)
    done.append(f"reamend installed (editable, from {ROOT}){' with dev tools' if args.dev else ''}")


def package_stamp(target: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(target.encode())
    return digest.hexdigest()


def reamend_importable(python: Path) -> bool:
    return subprocess.run([str(python), "-c", "import daemon.cli, models.audio_io"],
                          capture_output=True, cwd=tempfile.gettempdir()).returncode == 0


def pip(python: Path, *arguments: str) -> list[str]:
    return [str(python), "-m", "pip", "--disable-pip-version-check", *arguments]


def run_step(step: str, command: list[str], *, hint: str = "read the message above", cwd: Path | None = None) -> None:
    try:
        subprocess.run(command, check=True, cwd=cwd)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise StepFailed(f"{step} ({' '.join(command)}): {exc}", hint) from exc


def next_steps(python: Path, args: argparse.Namespace) -> str:
    bindir = python.parent
    reamend = bindir / ("reamend.exe" if os.name == "nt" else "reamend")
    lines = ["\nNext:", f"  {reamend} demo        # run every job on the bundled examples",
             f"  {reamend} doctor      # check models, device, tools, daemon, REAPER"]
    if args.dev:
        lines.append(f"  {python} -m pytest   # run the tests")
    if not args.no_venv:
        activate = "\\Scripts\\activate" if os.name == "nt" else "/bin/activate"
        lines.append(f"  (or activate the environment first: . {VENV}{activate})")
    return "\n".join(lines)


def say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main())
