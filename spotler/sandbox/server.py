"""Serving the sandbox over HTTP/1.1 with keep-alive, a thread per connection.

The standard library's `ThreadingHTTPServer`, not waitress: waitress 3.0 closes the
connection after every response without a Content-Length, and a 204 (every Spotler write)
must not carry one, so each write would cost a new connection. A thread per connection also
means a hanging request holds only its own connection. `SandboxApp` stays a plain WSGI app
for any other server; this one hands it requests directly.
"""

import contextlib
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from spotler.sandbox.app import SandboxApp
from spotler.sandbox.demo import seed_demo
from spotler.sandbox.handle import SandboxHandle
from spotler.sandbox.persistence import StateWriter, load_account
from spotler.sandbox.runtime import Sandbox
from spotler.sandbox.state import Account
from spotler.sandbox.web import Request, Response

logger = logging.getLogger("spotler.sandbox")

# Seconds an idle keep-alive connection stays open.
IDLE_TIMEOUT = 120
BODYLESS_STATUSES = {204, 304}


class _Handler(BaseHTTPRequestHandler):
    """One client connection: reads requests, lets the app answer, writes the answers."""

    protocol_version = "HTTP/1.1"
    server_version = "spotler-sandbox"
    timeout = IDLE_TIMEOUT
    wbufsize = -1  # write each answer in one go, flushed after it
    disable_nagle_algorithm = True
    server: "_HTTPServer"

    def do_GET(self) -> None:
        self._answer()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _answer(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._write(Response(411, b"Send the body with a Content-Length header"))
            return
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit():
            self.close_connection = True
            self._write(Response(400, b"Content-Length is not a number"))
            return
        body = self.rfile.read(int(length)) if int(length) else b""
        self._write(self.server.app.respond(self._request(body)))

    def _request(self, body: bytes) -> Request:
        target = urlsplit(self.path) if "://" in self.path else None
        path, _, query = (target.path if target else self.path).partition("?")
        host_name, port = self.server.server_address[:2]
        return Request(
            method=self.command,
            raw_path=path or "/",
            query=target.query if target else query,
            host=self.headers.get("Host") or f"{host_name}:{port}",
            scheme="http",
            remote_addr=self.client_address[0],
            authorization=self.headers.get("Authorization"),
            body=body,
            accept=self.headers.get("Accept", ""),
            origin=self.headers.get("Origin", ""),
        )

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status not in BODYLESS_STATUSES:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in BODYLESS_STATUSES:
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    """Keeps track of open connections, so that stopping closes the idle keep-alive ones."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        # A client that gave up (a timeout on a hang, say) is not the sandbox failing.
        if isinstance(error, ConnectionError | TimeoutError):
            return
        logger.exception("The sandbox failed on a connection from %s", client_address[0])

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # OSError: the client closed it already.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _HTTPServerIPv6(_HTTPServer):
    address_family = socket.AF_INET6


class SandboxServer:
    """The sandbox on `host:port` (port 0: a free one), optionally kept in a state file."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | None = None,
        seed_demo_contacts: bool = False,
    ) -> None:
        account = load_account(state_file) if state_file else Account()
        self._writer = StateWriter(account, state_file) if state_file else None
        self.seeded = seed_demo(account) if seed_demo_contacts else 0
        self.sandbox = Sandbox.create(account)
        server_class = _HTTPServerIPv6 if ":" in host else _HTTPServer
        self._http = server_class((host, port), SandboxApp(self.sandbox))
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox-http"
        )

    @property
    def url(self) -> str:
        """The root URL, e.g. http://127.0.0.1:8765."""
        host, port = self._http.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def start(self) -> None:
        if self._writer:
            self._writer.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop answering, end pending hangs, and write the state file one last time."""
        self.sandbox.traffic.stop()
        self._http.shutdown()
        self._http.server_close()
        self._http.close_connections()
        self._thread.join(timeout=10)
        if self._writer:
            self._writer.stop()


class RunningSandbox(SandboxHandle):
    """A sandbox served from this process, with the control helpers of `SandboxHandle`."""

    def __init__(self, server: SandboxServer) -> None:
        super().__init__(server.url)
        self.server = server

    def stop(self) -> None:
        self.close()
        self.server.stop()

    def __enter__(self) -> "RunningSandbox":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_thread(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    state_file: Path | None = None,
    seed_demo_contacts: bool = False,
) -> RunningSandbox:
    """Start a sandbox in this process and return its handle; `.stop()` ends it."""
    server = SandboxServer(
        host=host, port=port, state_file=state_file, seed_demo_contacts=seed_demo_contacts
    )
    server.start()
    return RunningSandbox(server)
