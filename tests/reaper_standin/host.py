"""The stand-in process: a headless "REAPER" that real reapy and our ReaScripts can talk to.

What it reproduces, because reamend depends on it:
- a persistent ``__main__`` shared by every script, holding ``obj`` (reapy's
  inside-REAPER test), the ``RPR_*`` globals, ``RPR_defer``/``RPR_runloop``/``RPR_atexit``;
- ``reaper_python`` importable, for reapy's server-side ``reascript_api``;
- a ~30 Hz main loop running deferred code strings; every API call happens on it;
- the web interface's ext-state and action URLs (``/_/GET/EXTSTATE/...``,
  ``/_/SET/EXTSTATE/...``, ``/_/<command id>``), which reapy's client uses to find
  or start its server;
- the resource folder: actions from ``reaper-kb.ini`` (``SCR`` lines), persisted ext
  state from ``reaper-extstate.ini``, the web interface port from ``reaper.ini``;
- scripts run as REAPER runs them: ``__name__ == "__main__"``, ``sys.argv == [""]``,
  ``sys.path[0]`` = the script's folder, no ``__file__``, and a ``SystemExit`` takes
  the whole process down.
Tests drive it through extra ``/standin/...`` JSON endpoints (load a project, read
its state, save it as .RPP, queue answers for ``GetUserInputs``, run a script).
"""

from __future__ import annotations

import argparse
import configparser
import functools
import json
import os
import queue
import re
import shlex
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.reaper_standin import reaper_python as rp
from tests.reaper_standin.model import Item, Marker, Project, Source, Take, Track, load_rpp, save_rpp

TICK_S = 1 / 30


class Host:
    def __init__(self, *, resource_path: Path, web_port: int | None) -> None:
        self.resource_path = resource_path
        self.tasks: queue.Queue[Callable[[], None]] = queue.Queue()
        self.deferred: list[str] = []
        self.at_exit: list[str] = []
        self.errors: list[str] = []
        self.script_runs: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self.main = self._make_main_namespace()
        rp.STATE.resource_path = str(resource_path)
        rp.STATE.run_script = self.run_script
        self._load_extstate_ini()
        self._load_actions()
        self.web_port = web_port or self._web_port_from_ini()

    # --- REAPER's scripting environment -------------------------------------------------

    def _make_main_namespace(self) -> types.ModuleType:
        main = types.ModuleType("__main__")
        main.__dict__["obj"] = None
        for name, value in vars(rp).items():
            if name.startswith("RPR_"):
                main.__dict__[name] = value
        main.__dict__["RPR_defer"] = self.deferred.append
        main.__dict__["RPR_runloop"] = self.deferred.append
        main.__dict__["RPR_atexit"] = self.at_exit.append
        sys.modules["__main__"] = main
        sys.modules["reaper_python"] = rp
        return main

    def run_script(self, path: str) -> dict[str, Any]:
        """Run a ReaScript file as REAPER does; returns its wall time and any error."""
        script = Path(path)
        started = time.perf_counter()
        error = None
        saved_path0 = sys.path[0]
        sys.argv = [""]
        sys.path[0] = str(script.parent)
        self.main.__dict__.pop("__file__", None)
        self.main.__dict__["__name__"] = "__main__"
        try:
            code = compile(script.read_text(encoding="utf-8"), str(script), "exec")
            exec(code, self.main.__dict__)
        except SystemExit:
            self.errors.append(f"{script.name}: SystemExit inside a ReaScript: REAPER would have quit")
            os._exit(70)
        except Exception:
            error = traceback.format_exc()
            self.errors.append(error)
            rp.STATE.console.append(error)
        finally:
            sys.path[0] = saved_path0
        run = {"script": script.name, "elapsed_ms": (time.perf_counter() - started) * 1000, "error": error}
        self.script_runs.append(run)
        return run

    def _run_deferred(self) -> None:
        pending, self.deferred[:] = list(self.deferred), []
        for code in pending:
            try:
                exec(code, self.main.__dict__)
            except SystemExit:
                os._exit(70)
            except Exception:
                self.errors.append(traceback.format_exc())

    def _run_at_exit(self) -> None:
        for code in self.at_exit:
            try:
                exec(code, self.main.__dict__)
            except Exception:
                self.errors.append(traceback.format_exc())

    # --- resource folder ----------------------------------------------------------------

    def _load_extstate_ini(self) -> None:
        ini = self.resource_path / "reaper-extstate.ini"
        if not ini.exists():
            return
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(ini, encoding="utf-8")
        for section in parser.sections():
            for key, value in parser.items(section):
                rp.STATE.ext_state[(section, key)] = value
                rp.STATE.persisted[(section, key)] = value

    def _load_actions(self) -> None:
        kb = self.resource_path / "reaper-kb.ini"
        if not kb.exists():
            return
        for line in kb.read_text(encoding="utf-8").splitlines():
            if not line.startswith("SCR "):
                continue
            parts = shlex.split(line)
            # SCR <flags> <section> <command id> "<description>" <path relative to Scripts/ or absolute>
            command_name, script = parts[3], parts[5]
            path = Path(script) if Path(script).is_absolute() else self.resource_path / "Scripts" / script
            command = 55000 + len(rp.STATE.named) + 1
            rp.STATE.named["_" + command_name.lstrip("_")] = command
            rp.STATE.actions[command] = str(path)

    def _web_port_from_ini(self) -> int:
        ini = self.resource_path / "reaper.ini"
        text = ini.read_text(encoding="utf-8") if ini.exists() else ""
        match = re.search(r"^csurf_\d+=HTTP \d+ (\d+)", text, re.MULTILINE)
        if not match:
            raise SystemExit("no --web-port and no web interface in reaper.ini")
        return int(match.group(1))

    def save_persisted_extstate(self) -> None:
        if not rp.STATE.persisted:
            return
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        for (section, key), value in rp.STATE.persisted.items():
            if not parser.has_section(section):
                parser.add_section(section)
            parser.set(section, key, value)
        with open(self.resource_path / "reaper-extstate.ini", "w", encoding="utf-8") as handle:
            parser.write(handle)

    # --- main loop ----------------------------------------------------------------------

    def call(self, fn: Callable[[], Any], timeout_s: float = 30.0) -> Any:
        """Run ``fn`` on the main thread (where REAPER runs everything) and wait for it."""
        future: Future[Any] = Future()

        def task() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed back to the web thread
                future.set_exception(exc)

        self.tasks.put(task)
        return future.result(timeout=timeout_s)

    def _next_task(self, wait_s: float) -> Callable[[], None] | None:
        try:
            return self.tasks.get(timeout=wait_s)
        except queue.Empty:
            return None

    def loop(self) -> None:
        next_tick = time.monotonic()
        while not self.stopping.is_set():
            wait_s = next_tick - time.monotonic()
            if wait_s > 0:
                task = self._next_task(wait_s)
                if task is not None:
                    task()
                continue
            next_tick = max(next_tick + TICK_S, time.monotonic())
            self._run_deferred()
        self._run_at_exit()


# --- test-facing project description ------------------------------------------------------


def project_from_json(data: dict[str, Any]) -> Project:
    project = Project(time_selection=tuple(data.get("time_selection", (0.0, 0.0))),
                      tempo_bpm=float(data.get("tempo_bpm", 120.0)))
    for t in data.get("tracks", []):
        track = Track(name=t.get("name", ""))
        track.guid = t.get("guid", track.guid)
        for i in t.get("items", []):
            item = Item(position_s=float(i["position_s"]), length_s=float(i["length_s"]),
                        selected=bool(i.get("selected", False)), active=int(i.get("active", 0)))
            item.guid = i.get("guid", item.guid)
            for k in i.get("takes", []):
                take = Take(source=Source(kind="WAVE", path=str(k["source"])), name=k.get("name", ""),
                            start_offset_s=float(k.get("start_offset_s", 0.0)),
                            playrate=float(k.get("playrate", 1.0)))
                take.guid = k.get("guid", take.guid)
                item.takes.append(take)
            track.items.append(item)
        project.tracks.append(track)
    for m in data.get("markers", []):
        project.markers.append(Marker(isrgn=bool(m.get("isrgn", False)), pos_s=float(m["pos_s"]),
                                      end_s=float(m.get("end_s", m["pos_s"])), name=m.get("name", ""),
                                      number=int(m["number"])))
    return project


def project_to_json(project: Project) -> dict[str, Any]:
    def take_json(take: Take) -> dict[str, Any]:
        source = take.source
        data: dict[str, Any] = {"guid": take.guid, "name": take.name, "start_offset_s": take.start_offset_s,
                                "playrate": take.playrate, "volume": take.volume,
                                "source": source.path if source else None,
                                "kind": source.kind if source else None}
        if source is not None and source.kind == "MIDI":
            data["notes"] = [vars(n) for n in source.notes]
        return data

    return {
        "path": project.path, "time_selection": list(project.time_selection), "tempo_bpm": project.tempo_bpm,
        "undo_history": project.undo_history,
        "markers": [vars(m) for m in project.sorted_markers()],
        "tracks": [{"guid": t.guid, "name": t.name, "items": [
            {"guid": i.guid, "position_s": i.position_s, "length_s": i.length_s, "selected": i.selected,
             "volume": i.volume, "fadein_s": i.fadein_s, "fadeout_s": i.fadeout_s, "active": i.active,
             "takes": [take_json(k) for k in i.takes]}
            for i in sorted(t.items, key=lambda i: i.position_s)]} for t in project.tracks],
    }


def _set_project(project: Project) -> None:
    rp.reset_handles()
    rp.STATE.project = project


# --- web interface ------------------------------------------------------------------------


def make_handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, body: bytes, content_type: str = "text/plain", status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/_/"):
                self._reply(host.call(lambda: web_commands(host, self.path[3:])).encode())
            elif self.path.startswith("/standin/"):
                self._control(self.path[len("/standin/"):], {})
            else:
                self._reply(b"not found", status=404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.startswith("/standin/"):
                self._control(self.path[len("/standin/"):], body)
            else:
                self._reply(b"not found", status=404)

        def _control(self, command: str, body: dict[str, Any]) -> None:
            try:
                result = host.call(lambda: control(host, command, body))
            except Exception as exc:
                self._reply(json.dumps({"error": repr(exc)}).encode(), "application/json", 500)
                return
            self._reply(json.dumps(result).encode(), "application/json")

    return Handler


def web_commands(host: Host, commands: str) -> str:
    """REAPER's web interface: ';'-separated commands, ext state and actions."""
    out: list[str] = []
    for command in commands.split(";"):
        parts = [unquote(p) for p in command.split("/")]
        if len(parts) >= 4 and parts[0] == "GET" and parts[1] == "EXTSTATE":
            value = rp.RPR_GetExtState(parts[2], parts[3])
            out.append(f"EXTSTATE\t{parts[2]}\t{parts[3]}\t{value}\n")
        elif len(parts) >= 5 and parts[0] == "SET" and parts[1] == "EXTSTATE":
            rp.RPR_SetExtState(parts[2], parts[3], "/".join(parts[4:]), False)
        elif parts and parts[0]:
            name = parts[0].strip('"')
            command_id = int(name) if name.isdigit() else rp.RPR_NamedCommandLookup(name)
            rp.RPR_Main_OnCommand(command_id, 0)
    return "".join(out)


def control(host: Host, command: str, body: dict[str, Any]) -> Any:
    state = rp.STATE
    if command == "load":
        _set_project(load_rpp(Path(body["rpp"])) if "rpp" in body else project_from_json(body["project"]))
        return {"ok": True}
    if command == "state":
        return project_to_json(state.project)
    if command == "save":
        save_rpp(state.project, Path(body["path"]))
        return {"ok": True, "path": body["path"]}
    if command == "run-script":
        return host.run_script(body["path"])
    if command == "user-inputs":
        state.user_inputs.extend(body["answers"])
        return {"ok": True}
    if command == "select":
        guids = set(body.get("item_guids", []))
        for item in state.project.all_items():
            item.selected = item.guid in guids
        if "time_selection" in body:
            state.project.time_selection = tuple(body["time_selection"])
        return {"ok": True}
    if command == "messages":
        return {"console": state.console, "message_boxes": state.message_boxes, "errors": host.errors,
                "script_runs": host.script_runs, "ext_state": {f"{s}/{k}": v for (s, k), v in
                                                               state.ext_state.items()}}
    if command == "quit":
        host.stopping.set()
        return {"ok": True}
    raise ValueError(f"unknown stand-in command {command!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reaper_standin")
    parser.add_argument("--resource-path", type=Path, required=True)
    parser.add_argument("--web-port", type=int, help="default: the HTTP control surface in reaper.ini")
    parser.add_argument("--project", type=Path, help=".RPP to open at start")
    parser.add_argument("--run", action="append", default=[], help="script to run at start (e.g. a reapy server)")
    parser.add_argument("--reapy-server-port", type=int, help="patch reapy's hard-coded 2306 for its own script")
    parser.add_argument("--ready-file", type=Path, help="written once the web interface listens")
    args = parser.parse_args(argv)
    host = Host(resource_path=args.resource_path, web_port=args.web_port)
    os.chdir(args.resource_path)  # scripts run with REAPER's working directory, not their own
    if args.project:
        _set_project(load_rpp(args.project))
    if args.reapy_server_port:
        import reapy.config

        reapy.config.REAPY_SERVER_PORT = args.reapy_server_port
    server = ThreadingHTTPServer(("127.0.0.1", host.web_port), make_handler(host))
    server.daemon_threads = True
    web_thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="standin-web", daemon=True)
    web_thread.start()
    signal.signal(signal.SIGTERM, lambda *_: host.stopping.set())
    for script in args.run:
        host.tasks.put(functools.partial(host.run_script, script))  # type: ignore[arg-type]
    if args.ready_file:
        args.ready_file.write_text(json.dumps({"pid": os.getpid(), "web_port": host.web_port}))
    try:
        host.loop()
    except KeyboardInterrupt:
        host._run_at_exit()
    finally:
        host.save_persisted_extstate()
        server.shutdown()
        server.server_close()
    return 0
