"""Install reamend's actions into REAPER, and take them out again.

``python -m daemon.reaper.install [--reaper-path DIR] [--uninstall]`` (what
``python install.py --reaper`` runs). It edits REAPER's own files, so it:

- finds the resource folder (``--reaper-path``; a running portable REAPER; the
  platform's default folder) and refuses to guess when none has a reaper.ini;
- copies the scripts into ``Scripts/reamend/`` with ``reamend_reaper.json``
  (where the daemon keeps its files, reapy's port, the Python paths that hold reapy);
- registers one action per script in ``reaper-kb.ini``;
- enables Python for ReaScripts in ``reaper.ini`` only when it is off, and adds the
  web interface reapy's client uses to find its server, saying what it changed;
- points reapy's client at OUR server script (loopback only, reapy callables only)
  through ``[reapy] activate_reapy_server`` in ``reaper-extstate.ini``;
- copies every REAPER file before its first change into ``reamend-backup/``;
  ``--uninstall`` puts the copy back when the file is unchanged since the install,
  and otherwise removes exactly the lines it added (keeping the user's later edits).
REAPER rewrites reaper.ini when it quits: close it before installing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import site
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from daemon.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS_SOURCE = REPO_ROOT / "reaper_scripts"
SCRIPTS_SUBDIR = "reamend"
BACKUP_DIR = "reamend-backup"
SERVER_SCRIPT = "reamend_reapy_server.py"
CONFIG_NAME = "reamend_reaper.json"
MANAGED_FILES = ("reaper.ini", "reaper-kb.ini", "reaper-extstate.ini")


@dataclass
class InstallReport:
    resource_path: Path
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- finding REAPER -----------------------------------------------------------------------


def candidate_resource_paths() -> list[Path]:
    """Where REAPER keeps reaper.ini: a running portable install first, then the platform default."""
    found: list[Path] = []
    try:
        import psutil

        for proc in psutil.process_iter(["name", "exe"]):
            name = (proc.info.get("name") or "").lower()
            if Path(name).stem == "reaper" and proc.info.get("exe"):
                exe = Path(proc.info["exe"])
                found.append(exe.parents[3] if sys.platform == "darwin" else exe.parent)
    except Exception:  # psutil may be refused process details; the defaults still apply
        pass
    if sys.platform == "darwin":
        found.append(Path.home() / "Library" / "Application Support" / "REAPER")
    elif sys.platform.startswith("win"):
        found.append(Path(os.environ.get("APPDATA", str(Path.home()))) / "REAPER")
    else:
        found.append(Path(os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config"))) / "REAPER")
    return found


def find_resource_path(explicit: Path | None) -> Path:
    if explicit is not None:
        if not explicit.is_dir():
            raise SystemExit(f"--reaper-path {explicit} is not a folder")
        return explicit
    for candidate in candidate_resource_paths():
        if (candidate / "reaper.ini").is_file():
            return candidate
    tried = ", ".join(str(p) for p in candidate_resource_paths())
    raise SystemExit(f"REAPER's resource folder was not found (looked in {tried}). Start REAPER once, or "
                     "pass --reaper-path (REAPER: Options > Show REAPER resource path).")


def reaper_is_running() -> bool:
    try:
        import psutil

        return any(Path((p.info.get("name") or "").lower()).stem == "reaper"
                   for p in psutil.process_iter(["name"]))
    except Exception:
        return False


# --- backups ------------------------------------------------------------------------------


class Backups:
    """First-change copies of REAPER's files plus a manifest of what we added."""

    def __init__(self, resource: Path) -> None:
        self.folder = resource / BACKUP_DIR
        self.manifest_path = self.folder / "manifest.json"
        self.manifest: dict = (json.loads(self.manifest_path.read_text(encoding="utf-8"))
                               if self.manifest_path.exists() else {"files": {}, "kb_lines": [],
                                                                    "ini_keys": {}, "extstate": {}})
        self.resource = resource

    def before_change(self, name: str) -> None:
        if name in self.manifest["files"]:
            return
        self.folder.mkdir(exist_ok=True)
        original = self.resource / name
        existed = original.exists()
        if existed:
            shutil.copy2(original, self.folder / name)
        self.manifest["files"][name] = {"existed": existed, "sha256_after": None}

    def after_change(self, name: str) -> None:
        self.manifest["files"][name]["sha256_after"] = _sha256(self.resource / name)

    def save(self) -> None:
        self.folder.mkdir(exist_ok=True)
        self.manifest_path.write_text(json.dumps(self.manifest, indent=2), encoding="utf-8")


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


# --- ini editing (line-based: REAPER's files are not always valid for configparser) ---------


def _ini_get(lines: list[str], section: str, key: str) -> str | None:
    current = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].lower()
        elif current == section.lower() and "=" in stripped and stripped.split("=", 1)[0] == key:
            return stripped.split("=", 1)[1]
    return None


def _ini_set(lines: list[str], section: str, key: str, value: str) -> list[str]:
    out, current, done, section_seen = [], None, False, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if current == section.lower() and not done:
                out.append(f"{key}={value}")
                done = True
            current = stripped[1:-1].lower()
            section_seen = section_seen or current == section.lower()
        elif current == section.lower() and "=" in stripped and stripped.split("=", 1)[0] == key:
            if not done:
                out.append(f"{key}={value}")
                done = True
            continue
        out.append(line)
    if not done:
        if not section_seen:
            out.append(f"[{section}]")
        out.append(f"{key}={value}")
    return out


def _ini_delete(lines: list[str], section: str, key: str) -> list[str]:
    out, current = [], None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].lower()
        elif current == section.lower() and stripped.split("=", 1)[0] == key:
            continue
        out.append(line)
    return out


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="surrogateescape").splitlines() if path.exists() else []


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")


# --- what gets installed ------------------------------------------------------------------


def action_scripts() -> list[Path]:
    return sorted(p for p in SCRIPTS_SOURCE.glob("reamend_*.py") if p.name != "reamend_common.py")


def script_description(path: Path) -> str:
    match = re.search(r"^# @description (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return match.group(1).strip() if match else path.stem


def command_id(relative_path: str) -> str:
    """Stable per script, so reinstalling keeps the user's shortcuts and toolbar buttons."""
    return "RS" + hashlib.sha1(f"reamend:{relative_path}".encode()).hexdigest()


def python_shared_library() -> Path | None:
    """The libpython REAPER must load (a venv has none of its own: the base interpreter's is used)."""
    names = [sysconfig.get_config_var("LDLIBRARY"), sysconfig.get_config_var("INSTSONAME")]
    if sys.platform.startswith("win"):
        names.append(f"python{sys.version_info.major}{sys.version_info.minor}.dll")
    folders = [sysconfig.get_config_var("LIBDIR"), sys.base_prefix, Path(sys.base_prefix) / "lib"]
    for folder in folders:
        for name in names:
            if folder and name and (Path(folder) / name).is_file() and not str(name).endswith(".a"):
                return Path(folder) / name
    return None


def reapy_sys_path() -> list[str]:
    """Folders REAPER's Python needs to import reapy (and nothing heavier)."""
    if importlib.util.find_spec("reapy") is None:  # found without importing it (its import connects)
        raise SystemExit("reapy is not installed in this Python; run python install.py first")
    return sorted({str(Path(p)) for p in site.getsitepackages()} | {str(REPO_ROOT)})


def install(resource: Path, settings: Settings) -> InstallReport:
    report = InstallReport(resource_path=resource)
    backups = Backups(resource)
    scripts_dir = resource / "Scripts" / SCRIPTS_SUBDIR
    scripts_dir.mkdir(parents=True, exist_ok=True)
    for script in [*action_scripts(), SCRIPTS_SOURCE / "reamend_common.py"]:
        shutil.copy2(script, scripts_dir / script.name)
    config = {"home": str(settings.home), "server_port": settings.reaper_server_port,
              "web_port": settings.reaper_web_port, "sys_path": reapy_sys_path()}
    (scripts_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")
    report.changes.append(f"copied {len(action_scripts()) + 1} scripts and {CONFIG_NAME} to {scripts_dir}")
    _register_actions(resource, backups, report)
    _configure_reaper_ini(resource, settings, backups, report)
    _point_reapy_at_our_server(resource, backups, report)
    backups.save()
    if reaper_is_running():
        report.warnings.append("REAPER is running: quit and restart it so it reads the new settings "
                               "(REAPER rewrites reaper.ini when it quits).")
    return report


def _register_actions(resource: Path, backups: Backups, report: InstallReport) -> None:
    kb = resource / "reaper-kb.ini"
    lines = _read_lines(kb)
    added = []
    for script in action_scripts():
        relative = f"{SCRIPTS_SUBDIR}/{script.name}"
        code = command_id(relative)
        if any(line.startswith(f"SCR 4 0 {code} ") for line in lines):
            continue
        # REAPER resolves paths relative to its Scripts folder, written with the platform's separator.
        on_disk = relative.replace("/", os.sep)
        added.append(f'SCR 4 0 {code} "{script_description(script)}" "{on_disk}"')
    if added:
        backups.before_change(kb.name)
        _write_lines(kb, lines + added)
        backups.after_change(kb.name)
        backups.manifest["kb_lines"] = sorted(set(backups.manifest["kb_lines"]) | set(added))
        report.changes.append(f"registered {len(added)} actions in {kb.name} (Action List: 'reamend:')")


def _configure_reaper_ini(resource: Path, settings: Settings, backups: Backups, report: InstallReport) -> None:
    ini = resource / "reaper.ini"
    lines = _read_lines(ini)
    wanted: dict[str, str] = {}
    if _ini_get(lines, "REAPER", "reascript") != "1":
        wanted["reascript"] = "1"
    library = python_shared_library()
    if library is None:
        report.warnings.append("this Python has no shared libpython, so REAPER cannot load it; install a "
                               "Python built with --enable-shared (python.org builds are) and set it in "
                               "Preferences > Plug-ins > ReaScript")
    elif not _ini_get(lines, "REAPER", "pythonlibpath64"):
        wanted["pythonlibpath64"] = str(library.parent)
        wanted["pythonlibdll64"] = library.name
    port = settings.reaper_web_port
    has_web = any(re.match(rf"csurf_\d+=HTTP \d+ {port} ", line) for line in lines)
    if has_web and not wanted:
        return
    backups.before_change(ini.name)
    keys = backups.manifest["ini_keys"]
    for key, value in wanted.items():
        keys.setdefault(key, _ini_get(lines, "REAPER", key))
        lines = _ini_set(lines, "REAPER", key, value)
        report.changes.append(f"reaper.ini: {key}={value} (enables Python ReaScripts)")
    if not has_web:
        count = int(_ini_get(lines, "REAPER", "csurf_cnt") or 0)
        keys.setdefault("csurf_cnt", _ini_get(lines, "REAPER", "csurf_cnt"))
        keys[f"csurf_{count}"] = None
        lines = _ini_set(lines, "REAPER", f"csurf_{count}", f"HTTP 0 {port} '' 'index.html' 0 ''")
        lines = _ini_set(lines, "REAPER", "csurf_cnt", str(count + 1))
        report.changes.append(f"reaper.ini: web interface on port {port} (reapy's client finds its server there)")
    _write_lines(ini, lines)
    backups.after_change(ini.name)


def _point_reapy_at_our_server(resource: Path, backups: Backups, report: InstallReport) -> None:
    extstate = resource / "reaper-extstate.ini"
    lines = _read_lines(extstate)
    action = json.dumps("_" + command_id(f"{SCRIPTS_SUBDIR}/{SERVER_SCRIPT}"))
    previous = _ini_get(lines, "reapy", "activate_reapy_server")
    if previous == action:
        return
    backups.before_change(extstate.name)
    backups.manifest["extstate"].setdefault("activate_reapy_server", previous)
    _write_lines(extstate, _ini_set(lines, "reapy", "activate_reapy_server", action))
    backups.after_change(extstate.name)
    report.changes.append("reaper-extstate.ini: reapy's client now starts reamend's loopback-only server"
                          + (" instead of reapy's own" if previous else ""))


def uninstall(resource: Path) -> InstallReport:
    report = InstallReport(resource_path=resource)
    backups = Backups(resource)
    manifest = backups.manifest
    for name, info in manifest["files"].items():
        path = resource / name
        if _sha256(path) == info["sha256_after"]:
            backup = backups.folder / name
            if info["existed"]:
                shutil.copy2(backup, path)
            else:
                path.unlink(missing_ok=True)
            report.changes.append(f"restored {name} from {backup}")
        else:
            _revert_lines(path, name, manifest)
            report.changes.append(f"{name} changed since the install: removed only reamend's lines")
    scripts_dir = resource / "Scripts" / SCRIPTS_SUBDIR
    if scripts_dir.exists():
        shutil.rmtree(scripts_dir)
        report.changes.append(f"removed {scripts_dir}")
    if backups.folder.exists():
        shutil.rmtree(backups.folder)
    return report


def _revert_lines(path: Path, name: str, manifest: dict) -> None:
    lines = _read_lines(path)
    if name == "reaper-kb.ini":
        ours = set(manifest["kb_lines"])
        lines = [line for line in lines if line not in ours]
    elif name == "reaper.ini":
        for key, old in manifest["ini_keys"].items():
            lines = _ini_delete(lines, "REAPER", key) if old is None else _ini_set(lines, "REAPER", key, old)
    elif name == "reaper-extstate.ini":
        old = manifest["extstate"].get("activate_reapy_server")
        lines = (_ini_delete(lines, "reapy", "activate_reapy_server") if old is None
                 else _ini_set(lines, "reapy", "activate_reapy_server", old))
    _write_lines(path, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.reaper.install", description=__doc__.split("\n")[0])
    parser.add_argument("--reaper-path", type=Path, help="REAPER resource folder (default: found automatically)")
    parser.add_argument("--uninstall", action="store_true", help="remove the actions, restore REAPER's files")
    args = parser.parse_args(argv)
    resource = find_resource_path(args.reaper_path)
    report = uninstall(resource) if args.uninstall else install(resource, load_settings())
    print(f"REAPER resource folder: {report.resource_path}")
    for change in report.changes or ["nothing to change"]:
        print(f"  - {change}")
    for warning in report.warnings:
        print(f"  ! {warning}")
    if not args.uninstall:
        print(f"Backups of every changed REAPER file: {resource / BACKUP_DIR} (--uninstall restores them).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
