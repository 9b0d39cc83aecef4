"""A real HTTP file server on 127.0.0.1 that misbehaves the way Common Crawl's HTTPS endpoint can under load.

It serves the files below ``root`` with ``Range`` support (206 + ``Content-Range``), over HTTP/1.1 keep-alive, and
consumes a plan of faults per URL path, one entry per GET:

- ``"503"``: 503 Slow Down; ``"429:S"``: 429 with ``Retry-After: S``;
- ``"drop:N"``: the normal status and headers (full ``Content-Length``), N body bytes, then the connection is
  closed — the client must resume with a ranged GET from what it got;
- ``"reset:N"``: the same, but closed with a TCP reset. The kernel then discards whatever the client had not read
  yet, so where it resumes depends on timing: tests assert its outcome, not its offsets;
- ``"ok"``: served normally. ``default`` applies to a path whose plan is used up (``"503"`` makes it fail forever).

Every GET is logged as ``(path, Range header or None, action)``, so a test can assert exactly what a client asked
for. Started in a daemon thread of the test process; Spark's Python workers reach it over loopback like any server.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import struct
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit


class Request(NamedTuple):
    path: str
    range: str | None
    action: str


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (openssl CLI), valid one day: (certificate, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class FaultyHttpServer:
    """See the module docstring. With ``tls=(certificate, key)`` it serves HTTPS."""

    def __init__(self, root: Path, plans: dict[str, list[str]] | None = None,
                 defaults: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None,
                 basic_auth: tuple[str, str] | None = None) -> None:  # fmt: skip
        self.root = root.resolve()
        # With ``basic_auth=(user, password)`` every GET without those credentials is answered 401.
        self.authorization = (
            "Basic " + base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode() if basic_auth else None
        )
        self.plans = {path: list(actions) for path, actions in (plans or {}).items()}
        self.defaults = dict(defaults or {})
        self.requests: list[Request] = []
        self.client_headers: set[tuple[str, str]] = set()  # (User-Agent, Accept-Encoding) of every GET
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def next_action(self, path: str, byte_range: str | None) -> str:
        with self._lock:
            plan = self.plans.get(path)
            action = plan.pop(0) if plan else self.defaults.get(path, "ok")
            self.requests.append(Request(path, byte_range, action))
            return action

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def faults(self) -> int:
        """Requests answered with a fault (anything but ``ok``)."""
        with self._lock:
            return sum(r.action != "ok" for r in self.requests)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up on a kept-alive connection is normal here (it gave up on a dropped body)."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler(owner: FaultyHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers: a client must not rely on one request per socket

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            byte_range = self.headers.get("Range")
            owner.client_headers.add((self.headers.get("User-Agent", ""), self.headers.get("Accept-Encoding", "")))
            if owner.authorization and self.headers.get("Authorization") != owner.authorization:
                self._reply(401, b"Unauthorized", {"WWW-Authenticate": 'Basic realm="wet"'})
                return
            action = owner.next_action(path, byte_range)
            if action == "503":
                self._reply(503, b"Slow Down", {"Content-Type": "text/plain"})
                return
            if action.startswith("429:"):
                self._reply(429, b"Too Many Requests", {"Retry-After": action.split(":", 1)[1]})
                return
            target = (owner.root / path.lstrip("/")).resolve()
            if owner.root not in target.parents or not target.is_file():
                self._reply(404, b"Not Found")
                return
            data = target.read_bytes()
            status, headers, body = 200, {"Content-Type": "application/octet-stream"}, data
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", byte_range or "")
            if match:
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else len(data) - 1
                if start >= len(data):
                    self._reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                    return
                end = min(end, len(data) - 1)
                status, body = 206, data[start : end + 1]
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            if not action.startswith(("drop:", "reset:")):
                self._reply(status, body, headers)
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: int(action.split(":", 1)[1])])
            if action.startswith("reset:"):  # SO_LINGER 0: the close sends a TCP reset
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif isinstance(self.connection, ssl.SSLSocket):  # TLS: close_notify, then the end of the stream
                self.connection.unwrap().shutdown(socket.SHUT_WR)
            else:  # the bytes written arrive, then the end of the stream, short of Content-Length
                self.connection.shutdown(socket.SHUT_WR)
            self.connection.close()
            self.close_connection = True

    return Handler
