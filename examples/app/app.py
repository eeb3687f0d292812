"""The example web app that shipit deploys: a stdlib-only HTTP server with a visit counter.

Reads ``HOST`` and ``PORT`` (default 127.0.0.1:8000), ``DATABASE_URL`` (a ``sqlite:///`` URL
holds the visit counter), ``SECRET_KEY`` (only whether it is set is ever shown) and ``DEBUG``.
``GET /health`` answers 200 with the release shipit deployed (``SHIPIT_RELEASE``); ``GET /``
shows the environment. Every request is logged as one line on stdout; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

SQLITE_PREFIX = "sqlite:///"


def database_path() -> str | None:
    """The SQLite file named by DATABASE_URL, or None when there is none (or not SQLite)."""
    url = os.environ.get("DATABASE_URL", "")
    return url[len(SQLITE_PREFIX) :] if url.startswith(SQLITE_PREFIX) else None


def database_state() -> str | None:
    """``sqlite`` when the SQLite database answers, the URL's scheme for others, else None."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    path = database_path()
    if path is None:
        return url.split(":", 1)[0]
    try:
        with sqlite3.connect(path, timeout=2) as connection:
            connection.execute("select 1")
    except sqlite3.Error:
        return None
    return "sqlite"


def count_visit() -> int | None:
    """Add one to the visit counter in the database and return it; None without a database."""
    path = database_path()
    if path is None:
        return None
    with sqlite3.connect(path, timeout=5) as connection:
        connection.execute("create table if not exists visits (id integer primary key, n integer)")
        connection.execute("insert or ignore into visits (id, n) values (1, 0)")
        connection.execute("update visits set n = n + 1 where id = 1")
        row = connection.execute("select n from visits where id = 1").fetchone()
    return int(row[0])


class Handler(BaseHTTPRequestHandler):
    """Answers /health and /; everything else is 404."""

    server_version = "shipit-example/1"

    def _send_json(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._send_json(
                200,
                {
                    "status": "ok",
                    "release": os.environ.get("SHIPIT_RELEASE", "dev"),
                    "database": database_state(),
                },
            )
        elif path == "/":
            self._send_json(
                200,
                {
                    "message": "hello from the shipit example app",
                    "environment": os.environ.get("SHIPIT_ENVIRONMENT", "dev"),
                    "release": os.environ.get("SHIPIT_RELEASE", "dev"),
                    "debug": os.environ.get("DEBUG"),
                    "secret_key_set": bool(os.environ.get("SECRET_KEY")),
                    "visits": count_visit(),
                },
            )
        else:
            self._send_json(404, {"error": "not found", "path": path})

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log(f"{self.command} {self.path} {code}")

    def log_message(self, format: str, *args: object) -> None:
        log(format % args)


def log(line: str) -> None:
    """One line on stdout; a closed stdout (the log reader is gone) never stops the app."""
    with contextlib.suppress(ValueError, OSError):
        print(line, flush=True)


def main() -> int:
    """Serve until SIGTERM or SIGINT."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True

    def shut_down(signum: int, _frame: FrameType | None) -> None:
        log(f"received signal {signum}, shutting down")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    release = os.environ.get("SHIPIT_RELEASE", "dev")
    log(f"listening on http://{host}:{port} (release {release})")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
