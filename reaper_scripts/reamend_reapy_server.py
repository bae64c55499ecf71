# @description reamend: reapy server (loopback only, reapy calls only)
# @version 0.1.0
# @author reamend
# @about
#   Replacement for reapy's own "activate_reapy_server" script, which listens on
#   every network interface and runs any Python callable it is sent. This one
#   listens on 127.0.0.1 only and refuses every callable that is not part of
#   reapy or REAPER's own ReaScript API, so other machines cannot reach it and
#   local clients cannot use it to run arbitrary Python inside REAPER.
#   The installer registers it and stores its action name where reapy's client
#   looks for it, so the reamend daemon starts it on demand.
#
# Runs inside REAPER's Python. Every module-level name is prefixed because all
# Python ReaScripts share one __main__.


def _reamend_server_main():
    import contextlib
    import json
    import os
    import socket
    import sys
    import time
    import types

    def find_config():
        folders = []
        if sys.path and sys.path[0]:
            folders.append(sys.path[0])
        with contextlib.suppress(NameError):  # RPR_* exist only inside REAPER
            folders.append(os.path.join(RPR_GetResourcePath(), "Scripts", "reamend"))
        for folder in folders:
            path = os.path.join(folder, "reamend_reaper.json")
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    return json.load(handle)
        return {}

    config = find_config()
    for entry in config.get("sys_path", []):
        if entry not in sys.path:
            sys.path.append(entry)
    try:
        import reapy
        from reapy.tools import json as reapy_json
        from reapy.tools.network.server import Server
        from reapy.tools.network.socket import Socket
    except ImportError as exc:
        RPR_ShowMessageBox(
            f"reamend could not import reapy inside REAPER ({exc}).\n\n"
            "Run 'python install.py --reaper' again from the reamend folder; it records where "
            "reapy is installed.", "reamend", 0)
        return

    port = int(config.get("server_port", reapy.config.REAPY_SERVER_PORT))
    hold_idle_limit_s = float(config.get("hold_idle_limit_s", 10.0))
    rpr_module = sys.modules.get("reaper_python")
    rpr_functions = {id(v) for v in vars(rpr_module).values()} if rpr_module else set()
    allowed_prefixes = ("reapy.core", "reapy.reascript_api", "reapy.additional_api")

    def allowed_module(name):
        return any(name == p or name.startswith(p + ".") for p in allowed_prefixes)

    def resolve(spec):
        module_name, name = spec.get("module_name"), spec.get("name")
        if not (isinstance(module_name, str) and isinstance(name, str)) or not allowed_module(module_name):
            raise PermissionError(f"refused: {module_name!r} is not part of reapy")
        target = sys.modules.get(module_name)
        if target is None:
            raise PermissionError(f"refused: module {module_name!r} is not loaded")
        for part in name.split("."):
            if part.startswith("__"):
                raise PermissionError(f"refused: dunder attribute in {name!r}")
            target = getattr(target, part)
            if isinstance(target, types.ModuleType):
                raise PermissionError(f"refused: {name!r} leads to another module")
        owner = getattr(target, "__module__", "") or ""
        if not (callable(target) and (allowed_module(owner) or id(target) in rpr_functions)):
            raise PermissionError(f"refused: {module_name}.{name} is not a reapy or REAPER API callable")
        return target

    def check(value):
        if isinstance(value, dict):
            if "__callable__" in value:
                resolve(value)
            if "__reapy__" in value:
                class_name = value.get("class")
                if not isinstance(class_name, str) or not hasattr(sys.modules["reapy.core"], class_name):
                    raise PermissionError(f"refused: unknown reapy class {class_name!r}")
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)

    def refuse(message):
        raise PermissionError(message)

    class LoopbackServer(Server):
        """reapy's server, bound to loopback, checking every request before decoding it."""

        def __init__(self, port):
            Socket.__init__(self)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.bind(("127.0.0.1", port))
            self.listen()
            self.connections = {}
            self.settimeout(0.0001)

        @Socket._non_blocking
        def _get_request(self, connection, address):
            try:
                raw = connection.recv()
            except (ConnectionAbortedError, ConnectionResetError, BrokenPipeError):
                return {"function": self.disconnect, "input": {"args": (address,), "kwargs": {}}}
            try:
                plain = json.loads(raw.decode())
                if plain.get("function") not in ("HOLD", "RELEASE"):
                    check(plain)
                    if not isinstance(plain.get("function"), dict):
                        raise PermissionError("refused: request names no callable")
                return reapy_json.loads(raw.decode())
            except Exception as exc:
                return {"function": refuse, "input": {"args": [str(exc)], "kwargs": {}}}

        def _hold_connection(self, address):
            # reapy's version waits forever for RELEASE, freezing REAPER if a client hangs.
            connection = self.connections[address]
            self._send_result(connection, {"type": "result", "value": None})
            last = time.monotonic()
            while time.monotonic() - last < hold_idle_limit_s:
                request = self._get_request(connection, address)
                if request is None:
                    continue
                if request["function"] == "RELEASE":
                    break
                result = self._process_request(request, address)
                if request["function"] == self.disconnect:
                    break
                self._send_result(connection, result)
                last = time.monotonic()
            return {"type": "result", "value": None}

        def disconnect(self, address):
            connection = self.connections.pop(address, None)
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()

    try:
        server = LoopbackServer(port)
    except OSError as exc:
        RPR_ShowConsoleMsg(f"reamend: reapy server not started on 127.0.0.1:{port} ({exc})\n")
        return
    reapy.set_ext_state("reapy", "server_port", port)

    def tick():
        # One bad client or request must never stop the loop (reapy's own loop dies).
        try:
            server.accept()
            results = server.process_requests(server.get_requests())
            server.send_results(results)
        except Exception as exc:
            RPR_ShowConsoleMsg(f"reamend: reapy server recovered from {exc!r}\n")
            for address in list(server.connections):
                server.disconnect(address)
        reapy.defer(tick)

    def shutdown():
        reapy.delete_ext_state("reapy", "server_port")
        server.close()

    tick()
    reapy.at_exit(shutdown)


_reamend_server_main()
