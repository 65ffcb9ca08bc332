"""What the zoo's libraries talk to: a real Redis, a counting HTTP sink, a gRPC echo, a closed port.

Everything listens on loopback on a port the kernel picked (Redis on a Unix socket in a temp dir),
so engineers' runs on one machine never collide. The sink counts what arrives per run token (the
first path segment, or Sentry's project id): OTLP spans, Sentry events, Slack messages, S3 puts,
plain GETs — so a test can tell what a library really delivered before its process ended.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Sink", "closed_port", "grpc_echo", "redis_server"]


# -- Redis -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Debian's ``redis-server`` on a Unix socket in a temp dir (no TCP); yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (bash .ci/redis)")
    root = Path(tempfile.mkdtemp(prefix="jobframe-redis-"))
    sock = root / "redis.sock"
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not ping_redis(sock):
            assert proc.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer PING within 20 s"
            time.sleep(0.02)  # polling for the server's socket: there is no event to wait for
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def ping_redis(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(2)
            conn.connect(str(sock))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# -- the HTTP sink -----------------------------------------------------------------------------------


def _spans_in(body: bytes) -> int:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)


def _events_in(envelope: bytes) -> int:
    """Sentry envelope items of type ``event`` (header line, then item header + payload pairs)."""
    lines = envelope.split(b"\n")
    count, index = 0, 1
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        header = json.loads(lines[index])
        length = header.get("length")
        if header.get("type") == "event":
            count += 1
        if length is None:
            index += 2
        else:  # a payload of a given length may hold newlines
            rest = b"\n".join(lines[index + 1 :])
            lines = [*lines[: index + 1], rest[:length], *rest[length + 1 :].split(b"\n")]
            index += 2
    return count


def _decoded(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]

        return bytes(brotli.decompress(body))
    return body


class Sink:
    """A threaded HTTP server on a free loopback port that counts what each run delivered."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                return _decoded(raw, self.headers.get("Content-Encoding", ""))

            def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", '"zoo"')
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                token, _, rest = self.path.lstrip("/").partition("/")
                sink.add(token, "get" if rest == "ok" else f"GET {rest}")
                self._answer(200, b"ok", "text/plain")

            def do_PUT(self) -> None:
                token, _, _ = self.path.lstrip("/").partition("/")
                self._body()
                sink.add(token, "s3")
                self._answer(200, b"")

            def do_POST(self) -> None:
                parts = self.path.lstrip("/").split("/")
                body = self._body()
                if parts[0] == "api" and parts[-2:] == ["envelope", ""]:  # Sentry: /api/PROJECT/envelope/
                    sink.add(parts[1], "event", _events_in(body))
                    self._answer(200, b"{}")
                elif parts[1:] == ["v1", "traces"]:
                    sink.add(parts[0], "span", _spans_in(body))
                    self._answer(200, b"", "application/x-protobuf")
                elif parts[1:] == ["api", "chat.postMessage"]:
                    sink.add(parts[0], "slack")
                    self._answer(200, b'{"ok": true, "channel": "C1", "ts": "1.0"}')
                else:
                    sink.add(parts[0], f"POST {'/'.join(parts[1:])}")
                    self._answer(404, b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="zoo-sink", daemon=True)
        self._thread.start()

    def add(self, token: str, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[(token, kind)] += n

    def count(self, token: str, kind: str) -> int:
        with self._lock:
            return self.counts[(token, kind)]

    def url(self, token: str) -> str:
        return f"http://127.0.0.1:{self.port}/{token}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- gRPC and a closed port --------------------------------------------------------------------------------


@contextlib.contextmanager
def grpc_echo() -> Iterator[tuple[str, Counter[bytes]]]:
    """A gRPC server answering every unary method with its request (``/zoo.Echo/Ping``,
    ``/inventory.Inventory/Check``, …); yields its address and a count of the requests it
    answered, by payload (a run's token)."""
    import grpc

    calls: Counter[bytes] = Counter()

    def echo(request: bytes, context: Any) -> bytes:
        calls[request] += 1
        return request

    class Echo(grpc.GenericRpcHandler):
        def service(self, handler_call_details: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(echo)

    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((Echo(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", calls
    finally:
        server.stop(grace=None).wait(5)


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound by this socket (so nobody else gets it),
    never listened on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
