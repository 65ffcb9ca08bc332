"""``python -m jobframe.braze.fake``: serve the fake on loopback until SIGTERM/SIGINT.

The first line on stdout is the URL (``http://127.0.0.1:PORT``), so a parent process can start it
with ``--port 0`` and read where it listens.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from jobframe.braze.fake.app import FakeBraze
from jobframe.braze.fake.server import FakeBrazeServer

__all__ = ["main"]


def _rate_limit(text: str) -> tuple[str, int, float]:
    path, _, spec = text.partition("=")
    limit, _, seconds = spec.partition("/")
    try:
        return path, int(limit), float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError("expected PATH=LIMIT/SECONDS, e.g. /users/track=3000/3") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, serve, stop cleanly on a signal."""
    parser = argparse.ArgumentParser(prog="python -m jobframe.braze.fake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="expected Bearer key (default: accept any)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of latency per response")
    parser.add_argument(
        "--rate-limit", type=_rate_limit, action="append", default=[], metavar="PATH=N/SECONDS"
    )
    parser.add_argument("--campaigns", type=int, default=0, help="seed this many campaigns")
    parser.add_argument("--record-limit", type=int, default=1000, help="requests kept for inspection")
    parser.add_argument("--no-store", action="store_true", help="do not keep user attributes")
    parser.add_argument(
        "--aligned-windows", action="store_true", help="rate-limit windows start at multiples of their length"
    )
    args = parser.parse_args(argv)

    app = FakeBraze(
        api_key=args.api_key,
        delay=args.delay,
        rate_limits={path: (limit, seconds) for path, limit, seconds in args.rate_limit},
        record_limit=args.record_limit,
        store_users=not args.no_store,
        aligned_windows=args.aligned_windows,
    )
    app.seed_campaigns(args.campaigns)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = FakeBrazeServer(app, host=args.host, port=args.port)  # binds: what can fail
    except (OSError, OverflowError) as exc:  # a port out of range, an address not this machine's
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc}")
    with server:
        print(server.url, flush=True)
        while not stop.wait(0.5):
            pass
    counters = app.counters
    print(f"requests={counters.requests} rate_limited={counters.rate_limited}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
