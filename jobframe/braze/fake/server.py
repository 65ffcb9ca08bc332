"""The fake on a real loopback socket: ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive.

Real sockets are what the connection-leak and connection-refused tests need, and what the
benchmark measures. The stdlib server is enough: one thread per connection, which is how many
connections a client with a bounded pool opens. It counts open connections so a test can assert
that closing a client really closed its sockets.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from jobframe.braze.fake.app import FakeBraze

__all__ = ["FakeBrazeServer"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections are closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, opened=False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.server.app.handle(self.command, self.path, dict(self.headers.items()), body)
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: FakeBraze) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.changed = threading.Condition()
        self.open: set[socket.socket] = set()
        self.total = 0

    def track(self, conn: socket.socket, *, opened: bool) -> None:
        with self.changed:
            if opened:
                self.open.add(conn)
                self.total += 1
            else:
                self.open.discard(conn)
            self.changed.notify_all()


class FakeBrazeServer:
    """Serve a :class:`FakeBraze` on loopback in a background thread.

    ``with FakeBrazeServer() as server: BrazeSettings(base_url=server.url, ...)``; ``server.app``
    is the fake to program and inspect. Extra keyword arguments build the app when none is given.
    """

    def __init__(
        self, app: FakeBraze | None = None, *, host: str = "127.0.0.1", port: int = 0, **kw: Any
    ) -> None:
        self.app = app if app is not None else FakeBraze(**kw)
        self._server = _Server((host, port), self.app)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def connection_count(self) -> int:
        """Connections open right now."""
        with self._server.changed:
            return len(self._server.open)

    @property
    def total_connections(self) -> int:
        """Connections accepted since start."""
        with self._server.changed:
            return self._server.total

    def wait_for_connections(self, count: int, timeout: float = 5.0) -> bool:
        """Block until exactly ``count`` connections are open (the server sees a close asynchronously)."""
        with self._server.changed:
            return self._server.changed.wait_for(lambda: len(self._server.open) == count, timeout)

    def start(self) -> FakeBrazeServer:
        """Start serving in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-braze", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        with self._server.changed:
            for conn in list(self._server.open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> FakeBrazeServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
