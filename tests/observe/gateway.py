"""A real Prometheus Pushgateway for the metrics tests: Debian's, on a free port, in a temp dir.

No mock: pushes go to the server a deployed job meets. The gateway listens on 127.0.0.1 port 0
(the kernel picks a free one; the gateway logs which) and keeps its persistence file in a temp
directory. ``.ci/pushgateway`` installs the package; without it these tests are skipped — unless
``JOBFRAME_REQUIRE_PUSHGATEWAY=1`` (CI), which makes a missing gateway a failure.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = [
    "BASIC_AUTH",
    "HangingServer",
    "Sample",
    "closed_port_url",
    "pushgateway",
    "require_pushgateway",
    "scrape",
]

BINARY = "prometheus-pushgateway"
_LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')

Sample = tuple[str, frozenset[tuple[str, str]]]

BASIC_AUTH = ("jobframe", "s3cr@t:pw/x", "$2b$04$KIm24Wr1S5gsN6XKWi0zl.xIHdSpdJMWZ5KIPvURHjFV/a65g53Ia")
"""A user, its password (``@``, ``:`` and ``/`` in it, as a URL must escape them) and the password's
bcrypt hash, for a gateway behind HTTP basic auth (its ``--web.config.file``)."""


def require_pushgateway() -> str:
    """The gateway's path; skips (or, under ``JOBFRAME_REQUIRE_PUSHGATEWAY=1``, fails) without one."""
    found = shutil.which(BINARY)
    if found is None:
        why = f"{BINARY} is not installed (bash .ci/pushgateway)"
        if os.environ.get("JOBFRAME_REQUIRE_PUSHGATEWAY") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


@contextmanager
def pushgateway(timeout: float = 30.0, *, basic_auth: bool = False) -> Iterator[str]:
    """Start a throwaway Pushgateway; yields its base URL (``http://127.0.0.1:PORT``).

    ``basic_auth``: the gateway answers 401 unless given :data:`BASIC_AUTH`'s user and password.
    """
    binary = require_pushgateway()
    root = Path(tempfile.mkdtemp(prefix="jobframe-pushgateway-"))
    command = [binary, "--web.listen-address=127.0.0.1:0", f"--persistence.file={root / 'metrics'}"]
    if basic_auth:
        user, _, hashed = BASIC_AUTH
        (root / "web.yml").write_text(f'basic_auth_users:\n  {user}: "{hashed}"\n')
        command.append(f"--web.config.file={root / 'web.yml'}")
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    port: list[int] = []
    ready = threading.Event()
    log: list[str] = []

    def read() -> None:  # the gateway says where it listens; keep draining so it never blocks
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if not port and (match := _LISTENING.search(line)):
                port.append(int(match[1]))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(timeout) or not port:
            raise RuntimeError(f"the Pushgateway did not start:\n{''.join(log)}")
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def scrape(url: str, *, basic_auth: bool = False) -> dict[Sample, float]:
    """Every ``jobframe_*`` sample the gateway exposes: ``(name, labels) -> value``."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    request = urllib.request.Request(f"{url}/metrics")
    if basic_auth:
        user, password, _ = BASIC_AUTH
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("jobframe_"):
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def closed_port_url() -> str:
    """A loopback URL where nothing listens (a port just bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class HangingServer:
    """Accepts connections, reads nothing, answers nothing: a gateway or collector that hangs.

    ``accepted`` is set once a client connected — a test waits for it, never for the clock.
    """

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)  # held open, never answered
            self.accepted.set()

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()

    def __enter__(self) -> HangingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
