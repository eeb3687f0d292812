"""A real HTTP server on a free loopback port, in a thread, for provider fakes.

It gives every fake the same three things: routing to an ``app`` callable, fault injection for
the next N matching requests (a status such as 429 with ``Retry-After``, GraphQL errors with
HTTP 200, a delay, a dropped connection), and a journal of every request it answered.

    with FakeServer(app) as server:
        server.faults.add(status=429, headers={"Retry-After": "1"}, times=2)
        httpx.get(server.url + "/x")
        assert server.journal.count(path="/x") == 3

Tests in another process (the CLI as a subprocess) reach the same controls over HTTP:
``POST /_fake/faults`` (a Fault as JSON, matched by ``path`` or GraphQL ``operation``),
``GET /_fake/journal``, ``DELETE /_fake/journal``. Run as ``python -m tests.fakes.<name>``, a
fake reads :func:`standalone_parser` options and ends in :func:`serve_until_signalled`.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONTROL_PREFIX = "/_fake/"


@dataclass(frozen=True)
class FakeRequest:
    """One request as the fake received it (header names in lower case)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def operation(self) -> str | None:
        """The GraphQL ``operationName`` of the body, if any."""
        body = self.json()
        if isinstance(body, dict) and isinstance(body.get("operationName"), str):
            return str(body["operationName"])
        return None

    @property
    def variables(self) -> dict[str, Any]:
        """The GraphQL variables of the body ({} when none)."""
        body = self.json()
        if isinstance(body, dict) and isinstance(body.get("variables"), dict):
            return dict(body["variables"])
        return {}


@dataclass
class FakeResponse:
    """What the fake answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> FakeResponse:
        """A JSON answer."""
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, status: int = 200) -> FakeResponse:
        """A plain-text answer."""
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


App = Callable[[FakeRequest], FakeResponse]


@dataclass
class Fault:
    """Replace (or delay) the answer to the next ``times`` requests that match.

    ``status``/``body``/``headers`` replace the answer; ``graphql_errors`` answer HTTP 200 with
    ``{"data": null, "errors": [...]}``; ``delay`` waits first (alone, it only slows the real
    answer); ``drop`` closes the connection without answering. ``path`` (a prefix) and
    ``operation`` (GraphQL operationName) narrow which requests match; ``match`` is any predicate.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    graphql_errors: list[dict[str, Any]] | None = None
    delay: float = 0.0
    drop: bool = False
    times: int = 1
    path: str | None = None
    operation: str | None = None
    match: Callable[[FakeRequest], bool] | None = None

    def matches(self, request: FakeRequest) -> bool:
        """True when this fault applies to ``request``."""
        if self.path is not None and not request.path.startswith(self.path):
            return False
        if self.operation is not None and request.operation != self.operation:
            return False
        return self.match is None or self.match(request)

    def response(self) -> FakeResponse | None:
        """The replacement answer, or None to let the app answer (after the delay)."""
        if self.graphql_errors is not None:
            return FakeResponse.json(
                {"data": None, "errors": self.graphql_errors}, self.status or 200, self.headers
            )
        if self.status is None and self.body is None:
            return None
        body = self.body
        if isinstance(body, (dict, list)):
            return FakeResponse.json(body, self.status or 200, self.headers)
        data = body.encode() if isinstance(body, str) else (body or b"")
        return FakeResponse(self.status or 200, data, dict(self.headers))


class Faults:
    """The queue of pending faults; each is used up after ``times`` matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, **options: Any) -> Fault:
        """Queue a Fault built from ``options`` (see :class:`Fault`)."""
        fault = Fault(**options)
        with self._lock:
            self._pending.append(fault)
        return fault

    def take(self, request: FakeRequest) -> Fault | None:
        """The first pending fault matching ``request`` (one use of it is spent)."""
        with self._lock:
            for fault in self._pending:
                if fault.matches(request):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._pending.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


@dataclass(frozen=True)
class Entry:
    """One answered request in the journal."""

    request: FakeRequest
    status: int
    faulted: bool
    at: float

    @property
    def operation(self) -> str | None:
        """The GraphQL operation name, if the request was one."""
        return self.request.operation

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view (for ``GET /_fake/journal``)."""
        return {
            "method": self.request.method,
            "path": self.request.path,
            "query": self.request.query,
            "headers": self.request.headers,
            "status": self.status,
            "faulted": self.faulted,
            "operation": self.operation,
            "body": self.request.json(),
        }


class Journal:
    """Every request the fake answered (control requests excluded), in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def record(self, entry: Entry) -> None:
        """Append one entry."""
        with self._lock:
            self._entries.append(entry)

    def entries(
        self, *, path: str | None = None, method: str | None = None, operation: str | None = None
    ) -> list[Entry]:
        """The entries matching every given filter (path is a prefix)."""
        with self._lock:
            found = list(self._entries)
        if path is not None:
            found = [e for e in found if e.request.path.startswith(path)]
        if method is not None:
            found = [e for e in found if e.request.method == method]
        if operation is not None:
            found = [e for e in found if e.operation == operation]
        return found

    def count(self, **filters: Any) -> int:
        """How many entries match (see :meth:`entries`)."""
        return len(self.entries(**filters))

    def operations(self) -> list[str]:
        """The GraphQL operation names sent, in order."""
        return [e.operation for e in self.entries() if e.operation]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())


class FakeServer:
    """``app`` served on ``127.0.0.1:<free port>`` from a background thread."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.faults = Faults()
        self.journal = Journal()
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        """Serve in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread (standalone use); returns after :meth:`shutdown`."""
        self._httpd.serve_forever(poll_interval=0.05)

    def shutdown(self) -> None:
        """Ask :meth:`serve_forever` to return."""
        self._httpd.shutdown()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # one request --------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeResponse | None:
        """The answer to ``request`` (None: drop the connection)."""
        if request.path.startswith(CONTROL_PREFIX):
            control = self._control(request)
            if control is not None:
                return control
            return self.app(request)
        fault = self.faults.take(request)
        response: FakeResponse | None = None
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                self.journal.record(Entry(request, 0, True, time.time()))
                return None
            response = fault.response()
        faulted = response is not None
        if response is None:
            try:
                response = self.app(request)
            except Exception as error:  # a bug in a fake must show up in the test, not hang it
                response = FakeResponse.json(
                    {
                        "errors": [
                            {"message": f"fake server error: {type(error).__name__}: {error}"}
                        ]
                    },
                    500,
                )
        self.journal.record(Entry(request, response.status, faulted, time.time()))
        return response

    def _control(self, request: FakeRequest) -> FakeResponse | None:
        route = request.path[len(CONTROL_PREFIX) :].strip("/")
        if route == "journal" and request.method == "GET":
            return FakeResponse.json([e.summary() for e in self.journal])
        if route == "journal" and request.method == "DELETE":
            self.journal.clear()
            return FakeResponse.json({"ok": True})
        if route == "faults" and request.method == "POST":
            options = request.json() or {}
            allowed = {k: v for k, v in options.items() if k in Fault.__dataclass_fields__}
            allowed.pop("match", None)
            fault = self.faults.add(**allowed)
            return FakeResponse.json({k: v for k, v in asdict(fault).items() if k != "match"})
        if route == "faults" and request.method == "DELETE":
            self.faults.clear()
            return FakeResponse.json({"ok": True})
        return None


def standalone_parser(module: str, description: str | None, token: str) -> argparse.ArgumentParser:
    """The command line every fake takes when run as ``python -m <module>``: --port, --token."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=token)
    return parser


def serve_until_signalled(server: FakeServer) -> int:
    """Print ``READY <url>``, serve until SIGINT/SIGTERM, free the port; the exit code (0)."""
    stop = threading.Event()

    def _stop(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"READY {server.url}", flush=True)
    server.serve_forever()
    server.stop()
    return 0


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the journal records requests."""

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = FakeRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            response = server.handle(request)
            if response is None:
                self.close_connection = True
                return
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler
