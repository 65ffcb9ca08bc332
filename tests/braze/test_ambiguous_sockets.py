"""A request Braze received but never answered is ambiguous: never retried, never reported as sent.

A plain socket server (no respx, no fake transport, not even an HTTP library on the server side)
reads every request to the end of its body, then answers it, or, for one chosen request, drops
the connection (a FIN, or a reset) or stalls until the client's read timeout fires. Both clients,
on the bulk path (``/users/track``), far past the concurrency ceiling. The server's own log of the
bodies it received is the truth the client's report is checked against.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from typing import BinaryIO

import pytest

from jobframe.braze import (
    BrazeTransportDuplicatePossibleError,
)
from tests.braze.test_delivery import run_track

BATCHES = 60  # > max_concurrency (16) and the pool: the stream is still going when the fault hits
TRACK = "/users/track"
ATTRIBUTES = [{"external_id": f"u{i}", "tier": "gold"} for i in range(75 * BATCHES)]


class RawServer:
    """HTTP/1.1 with keep-alive by hand: reads a whole request, then answers, drops or stalls.

    The ``fault_at``-th request (1-based) gets ``fault``; every body received is logged with the
    batch it held. A stalled connection is held open until the test ends (``release``), so the
    client's read timeout, not the server, ends it.
    """

    def __init__(self, fault: str, fault_at: int) -> None:
        self.fault, self.fault_at = fault, fault_at
        self.received: list[int] = []  # batch index of every body read, in order
        self.answered: list[int] = []  # batches answered 2xx
        self.faulted: int | None = None
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._busy = 0  # requests read and not yet answered, dropped or stalled
        self._release = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def settle(self, timeout: float = 60) -> None:
        """Wait until every request read is answered, dropped or stalled: the logs are complete.

        The client can read an answer before the thread that sent it has logged it; the logs are
        read once the server is done with everything it received.
        """
        with self._settled:
            assert self._settled.wait_for(lambda: self._busy == 0, timeout), "the server never settled"

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the handler or the client
                conn.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed: the test is over
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while (body := self._read_request(reader)) is not None:
                with self._lock:
                    self._busy += 1
                try:
                    then = self._handle(conn, body)
                finally:
                    with self._settled:
                        self._busy -= 1
                        self._settled.notify_all()
                if then == "stall":
                    self._release.wait()  # held open by the test; the client's read timeout ends it
                if then != "next":
                    return

    def _handle(self, conn: socket.socket, body: bytes) -> str:
        """Answer or drop one request; what the connection does then: ``next``, ``stall``, ``end``."""
        batch = int(json.loads(body)["attributes"][0]["external_id"][1:]) // 75
        with self._lock:
            self.received.append(batch)
            fault = self.fault if len(self.received) == self.fault_at else None
            if fault:
                self.faulted = batch
        if fault == "close":
            conn.shutdown(socket.SHUT_RDWR)  # FIN after the body was read: no answer
            return "end"
        if fault == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "end"  # closing with linger 0 sends a RST
        if fault == "stall":
            return "stall"
        answer = json.dumps({"message": "success", "attributes_processed": 75}).encode()
        try:
            conn.sendall(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
            )
        except OSError:
            return "end"  # the client went away (it closes its pool at the end)
        with self._lock:
            self.answered.append(batch)
        return "next"

    @staticmethod
    def _read_request(reader: BinaryIO) -> bytes | None:
        length = 0
        try:
            line = reader.readline()
            if not line:
                return None
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            return reader.read(length)
        except OSError:
            return None


@pytest.mark.parametrize("fault_at", [1, 20], ids=["probe", "mid-stream"])
@pytest.mark.parametrize("fault", ["close", "reset", "stall"])
@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_received_and_never_answered_is_ambiguous(client_kind: str, fault: str, fault_at: int) -> None:
    # A read timeout 1 s: healthy answers come at once, so only the stalled request reaches it.
    with RawServer(fault, fault_at) as server:
        error = run_track(client_kind, server.url, ATTRIBUTES, read=1.0)
        server.settle()
        received, answered, faulted = list(server.received), list(server.answered), server.faulted
    assert isinstance(error, BrazeTransportDuplicatePossibleError), repr(error)
    assert faulted is not None and error.batch_index == faulted
    # Never retried as if unsent: every batch reached the server at most once, the faulted one once.
    assert sorted(received) == sorted(set(received)), "a batch was sent twice"
    report = error.delivery
    assert report is not None and report.endpoint == TRACK
    # Reported as ambiguous, with the ids it held, and never as delivered or failed.
    assert [b.index for b in report.unknown] == [faulted]
    assert report.unknown[0].ids == [f"u{i}" for i in range(75 * faulted, 75 * faulted + 75)]
    assert report.failed == []
    delivered = {i for a, b in report.delivered for i in range(a, b + 1)}
    assert faulted not in delivered
    assert delivered == set(answered)  # exactly what the server answered 2xx
    assert not {b.index for b in report.never_sent} & set(received)  # "never sent" means never received
    # Every batch is accounted for exactly once: delivered, unknown, never sent, or the rest.
    accounted = [*delivered, *(b.index for b in report.unknown), *(b.index for b in report.never_sent)]
    if report.rest_from is not None:
        accounted += range(report.rest_from.index, BATCHES)
    assert sorted(accounted) == list(range(BATCHES))
    if fault != "stall":  # known at once, so the stream stopped before the input ended (a stall
        # takes the read timeout, long enough for the async client to send every batch)
        taken = max(set(received) | {b.index for b in report.never_sent}) + 1
        assert report.rest_from is not None and report.rest_from.index == taken < BATCHES
    if fault_at == 1:
        assert received == [faulted] == [0]  # the probe: nothing else was sent
