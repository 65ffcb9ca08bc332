"""The push's HTTP request (``http_handler``): the request prometheus-client's own handler sends,
through :mod:`http.client` instead of a urllib opener (docs/observability.md, "Cost").

Compared side by side with the library's ``default_handler`` against the same recording server,
and against a real Pushgateway.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError, URLError

import pytest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, default_handler

from jobframe.observe.pushgateway import http_handler
from tests.conftest import REPO, clean_env
from tests.observe.gateway import closed_port_url, scrape

HEADERS = [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)]
BODY = b"jobframe_job_exit_code 0\n"
Handler = Callable[..., Callable[[], None]]


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    """An HTTP server that records every request and answers ``status`` (a gateway, or a proxy)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        recorder = self

        class Handle(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {name.lower(): value for name, value in self.headers.items()}
                recorder.requests.append(Received(self.command, self.path, headers, self.rfile.read(length)))
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = do_GET = _record  # noqa: N815 - http.server's names

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        serve = functools.partial(self._server.serve_forever, poll_interval=0.01)  # a quick shutdown
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy the test machine sets would take every request elsewhere (the subprocess's too)."""
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    try:
        yield server
    finally:
        server.close()


def _outcome(handler: Handler, url: str, method: str) -> tuple[str, str] | None:
    try:
        handler(url, method, 10.0, list(HEADERS), BODY)()
    except OSError as exc:
        return type(exc).__name__, str(exc)
    return None


COMPARED = ("content-type", "content-length", "host", "connection")
"""What both send; urllib adds its ``User-Agent``, http.client its ``Accept-Encoding: identity``."""


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("status", [200, 202, 400, 404, 500, 503])
def test_the_request_and_its_outcome_are_the_librarys(recorder: Recorder, method: str, status: int) -> None:
    recorder.status = status
    url = f"{recorder.url}/prefix/metrics/job/SendPush/shard@base64/MS80"
    theirs, ours = (_outcome(handler, url, method) for handler in (default_handler, http_handler))
    assert ours == theirs  # None, or the same exception with the same text: "HTTP Error 500: ..."
    assert (ours is None) == (200 <= status < 300)
    theirs_sent, ours_sent = recorder.requests
    assert (ours_sent.method, ours_sent.target, ours_sent.body) == (method, url[len(recorder.url) :], BODY)
    assert (theirs_sent.method, theirs_sent.target, theirs_sent.body) == (method, ours_sent.target, BODY)
    assert {h: ours_sent.headers.get(h) for h in COMPARED} == {
        h: theirs_sent.headers.get(h) for h in COMPARED
    }


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failure_never_a_silent_success(recorder: Recorder, status: int) -> None:
    """urllib would follow a POST's 301/302 as a GET without the metrics; this push fails instead."""
    recorder.status = status
    for method in ("PUT", "POST"):
        with pytest.raises(HTTPError, match=f"HTTP Error {status}"):
            http_handler(f"{recorder.url}/metrics/job/j", method, 10.0, list(HEADERS), BODY)()


def test_a_gateway_that_is_down_is_a_urlerror_as_from_urllib() -> None:
    url = f"{closed_port_url()}/metrics/job/j"
    ours, theirs = (_outcome(handler, url, "PUT") for handler in (http_handler, default_handler))
    assert ours == theirs
    assert ours is not None and ours[0] == "URLError" and "Connection refused" in ours[1]


@pytest.mark.process
def test_a_push_reaches_a_real_gateway_and_a_malformed_one_is_refused(gateway: str) -> None:
    http_handler(f"{gateway}/metrics/job/direct", "PUT", 10.0, list(HEADERS), BODY)()
    labels = frozenset({"job": "direct", "instance": ""}.items())
    assert scrape(gateway)[("jobframe_job_exit_code", labels)] == 0
    with pytest.raises(HTTPError) as refused:
        http_handler(f"{gateway}/metrics/job/direct", "PUT", 10.0, list(HEADERS), b"jobframe_x{ 1\n")()
    assert refused.value.code == 400


@pytest.mark.process
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_an_ascii_host_is_resolved_without_loading_the_idna_codec(gateway: str, host: str) -> None:
    """A ``str`` host makes getaddrinfo import ``encodings.idna`` (~0.4 ms of every push)."""
    url = gateway.replace("127.0.0.1", host) + "/metrics/job/idna"
    code = (
        "import sys\n"
        "from jobframe.observe.pushgateway import http_handler\n"
        f"http_handler({url!r}, 'PUT', 10.0, [], b'jobframe_x 1\\n')()\n"
        "print('encodings.idna' in sys.modules)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "False"
    assert ("jobframe_x", frozenset({"job": "idna", "instance": ""}.items())) in scrape(gateway)


def test_a_proxy_from_the_environment_is_used_as_urllib_uses_it(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", recorder.url)
    url = f"{closed_port_url()}/metrics/job/proxied"  # reachable only through the proxy
    http_handler(url, "PUT", 10.0, list(HEADERS), BODY)()
    (received,) = recorder.requests
    assert (received.method, received.target, received.body) == ("PUT", url, BODY)


def test_credentials_in_the_url_are_left_to_the_librarys_handler(recorder: Recorder) -> None:
    """Never the request without the credentials it was given: what urllib makes of them, as before."""
    url = recorder.url.replace("http://", "http://ops:secret@") + "/metrics/job/j"
    assert _outcome(http_handler, url, "PUT") == _outcome(default_handler, url, "PUT")
    assert all("authorization" in request.headers for request in recorder.requests)


def test_https_goes_through_the_librarys_handler(recorder: Recorder) -> None:
    """TLS is urllib's: a plain-HTTP server on the other end fails the handshake."""
    https = recorder.url.replace("http://", "https://") + "/metrics/job/j"
    with pytest.raises(URLError, match=r"SSL|ssl"):
        http_handler(https, "PUT", 10.0, list(HEADERS), BODY)()
    assert not recorder.requests
