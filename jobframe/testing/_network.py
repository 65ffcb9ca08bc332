"""Keep jobframe's tests off the real network: a lookup or connection to anything but loopback fails at once.

A unit test that resolves a real host name is slow when the network is there, fails when it is
not, and may send real requests. So while a test uses jobframe's fixtures (``jobframe_network``,
which ``jobframe_container`` and everything built on it depend on) and during every
:func:`jobframe.testing.run_job`, name resolution (``socket.getaddrinfo``, ``gethostbyname``) and
``connect`` to a non-loopback address raise :class:`NetworkBlockedError`, naming the host and how to
fake it. Loopback (``localhost``, ``127.0.0.0/8``, ``::1``) stays open for test servers.

Fakes answer above the socket layer (the fake Braze's transport, ``jobframe_http``,
``httpx.MockTransport``, stubs), so only what nobody faked gets here. Nothing is changed outside
those fixtures and runs: the functions are patched when the first guard starts and put back when
the last one ends. Code that opens sockets in C (not through Python's ``socket`` module) is not seen.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALLOW_NETWORK", "NetworkBlockedError", "NetworkGuard", "block_network", "is_loopback"]

ALLOW_NETWORK = "jobframe_allow_network"
"""Marker name: ``@pytest.mark.jobframe_allow_network`` (every host) or ``(..."host")`` (those hosts)."""

HOW_TO_FAKE = (
    "jobframe tests never reach the real network. Fake what makes the request: "
    "jobframe_http (routes for the NetworkModule's clients), jobframe_braze (Braze), "
    "or jobframe_override(<provider>=stub); or, if the test means it, "
    "mark it @pytest.mark.jobframe_allow_network({host!r})"
)


class NetworkBlockedError(RuntimeError):
    """A jobframe test tried to reach a host that is not loopback, and nothing faked it.

    Raised where the lookup or connection happens, and again by ``run_job`` after a run that
    tried (a job may catch the first one), with ``result`` set to the run's ``JobResult``.
    """

    def __init__(self, attempts: list[str], result: Any = None) -> None:
        first = attempts[0] if attempts else "?"
        host = first.rsplit(":", 1)[0].strip("[]")
        more = f" (and {', '.join(attempts[1:])})" if len(attempts) > 1 else ""
        super().__init__(f"blocked a connection to {first}{more}: " + HOW_TO_FAKE.format(host=host))
        self.attempts = list(attempts)
        self.result = result


def is_loopback(host: str) -> bool:
    """``localhost``, ``*.localhost``, ``127.x.x.x``, ``::1``, and the unspecified address (local too)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or ip.is_unspecified or (mapped is not None and mapped.is_loopback)


@dataclass(eq=False)  # guards are removed from the stack by identity
class NetworkGuard:
    """One test's (or one run's) rule: loopback and ``allowed`` hosts pass, the rest is blocked.

    ``blocked`` lists every attempt it refused, as ``host:port``.
    """

    allowed: frozenset[str] = frozenset()
    blocked: list[str] = field(default_factory=list)
    _resolved: set[str] = field(default_factory=set)  # addresses of allowed host names

    def permits(self, host: str) -> bool:
        name = host.strip("[]").lower().rstrip(".")
        return is_loopback(name) or name in self.allowed or name in self._resolved

    def refuse(self, host: str, port: Any) -> NetworkBlockedError:
        where = f"[{host}]" if ":" in host else host
        attempt = f"{where}:{port}" if port not in (None, "", 0) else where
        self.blocked.append(attempt)
        return NetworkBlockedError([attempt])


_GUARDS: list[NetworkGuard] = []
_LOCK = threading.Lock()
_ORIGINAL: dict[str, Any] = {}


def _current() -> NetworkGuard | None:
    return _GUARDS[-1] if _GUARDS else None


def _text(host: Any) -> str | None:
    if host is None:
        return None
    return host.decode("idna") if isinstance(host, bytes) else str(host)


def _checked_lookup(name: str) -> Callable[..., Any]:
    original = _ORIGINAL[name]

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard, text = _current(), _text(host)
        if guard is None or text is None or guard.permits(text):
            return original(host, *args, **kwargs)
        port = args[0] if args and name == "getaddrinfo" else kwargs.get("port")
        raise guard.refuse(text, port)

    return lookup


def _allowing_lookup(lookup: Callable[..., Any]) -> Callable[..., Any]:
    """Remember the addresses an allowed host name resolves to, so connecting to them passes too."""

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        answer = lookup(host, *args, **kwargs)
        guard, text = _current(), _text(host)
        if guard is not None and text is not None and text.lower().rstrip(".") in guard.allowed:
            for *_, address in answer:
                guard._resolved.add(str(address[0]).lower())
        return answer

    return resolve


def _checked_connect(name: str) -> Callable[..., Any]:
    original = _ORIGINAL[name]

    def connect(self: socket.socket, address: Any, *args: Any) -> Any:
        guard = _current()
        if (
            guard is not None
            and self.family in (socket.AF_INET, socket.AF_INET6)
            and isinstance(address, tuple)
        ):
            host = str(address[0])
            if not guard.permits(host):
                raise guard.refuse(host, address[1] if len(address) > 1 else None)
        return original(self, address, *args)

    return connect


_LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex")
_CONNECTS = ("connect", "connect_ex")


def _install() -> None:
    for name in _LOOKUPS:
        _ORIGINAL[name] = getattr(socket, name)
    for name in _CONNECTS:
        _ORIGINAL[name] = getattr(socket.socket, name)
        _ORIGINAL[f"own_{name}"] = name in socket.socket.__dict__
    socket.getaddrinfo = _allowing_lookup(_checked_lookup("getaddrinfo"))
    socket.gethostbyname = _checked_lookup("gethostbyname")
    socket.gethostbyname_ex = _checked_lookup("gethostbyname_ex")
    for name in _CONNECTS:
        setattr(socket.socket, name, _checked_connect(name))


def _uninstall() -> None:
    for name in _LOOKUPS:
        setattr(socket, name, _ORIGINAL[name])
    for name in _CONNECTS:
        if _ORIGINAL[f"own_{name}"]:
            setattr(socket.socket, name, _ORIGINAL[name])
        else:
            delattr(socket.socket, name)
    _ORIGINAL.clear()


@contextlib.contextmanager
def block_network(allow: Iterable[str] = ()) -> Iterator[NetworkGuard]:
    """Block the network but loopback and ``allow`` (host names or addresses) inside the ``with``.

    Guards nest (a test's, then each run's); the innermost one decides and records.
    """
    guard = NetworkGuard(allowed=frozenset(h.lower().rstrip(".").strip("[]") for h in allow))
    with _LOCK:
        if not _GUARDS:
            _install()
        _GUARDS.append(guard)
    try:
        yield guard
    finally:
        with _LOCK:
            _GUARDS.remove(guard)
            if not _GUARDS:
                _uninstall()
