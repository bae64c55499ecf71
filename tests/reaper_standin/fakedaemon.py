"""A stand-in for the daemon's job API: records what the ReaScripts submit."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class FakeDaemon:
    """Records job submissions the way the real API receives them (bearer token required)."""

    def __init__(self, home: Path) -> None:
        self.posts: list[dict[str, Any]] = []
        self.token = "t0ken"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _json(self, status: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.startswith("/v1/health"):
                    self._json(200, {"ok": True, "pid": os.getpid(), "device": "cpu",
                                     "queue": {"queued": len(fake.posts), "running": 0}})
                else:
                    self._json(200, {"jobs": [{"id": f"job{i}", "kind": p["kind"], "state": "queued",
                                               "progress": 0.0, "writeback": None, "error": None}
                                              for i, p in enumerate(fake.posts)]})

            def do_POST(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._json(401, {"error": "unauthorized"})
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("preset") == "missing":
                    self._json(400, {"error": "preset 'missing' not found"})
                    return
                fake.posts.append(body)
                self._json(202, {"id": f"job{len(fake.posts)}", "state": "queued"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        (home / "api.json").write_text(json.dumps({"port": self.server.server_address[1], "token": self.token,
                                                   "pid": os.getpid(), "version": "test"}))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
