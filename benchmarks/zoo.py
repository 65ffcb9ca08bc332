"""The zoo side by side: every library in every shape under jobframe and in plain Python.

For each case (``tests/zoo``: a library made inside ``execute``, held by a ``Singleton``, provided
by a ``Resource``) it prints the exit code, the seconds from ``job.finished`` to the exit, what the
log named and what was delivered — under jobframe and in plain Python running the same calls.
Plain Python is left out for the busy executor and the stuck Kafka close (it would wait for them).

    PYTHONPATH=. python benchmarks/zoo.py --markdown

Needs ``pip install -e ".[zoo]"``, ``redis-server`` and PostgreSQL (``.ci/redis``, ``.ci/postgres``).
"""

from __future__ import annotations

import argparse
import contextlib

from tests.resume.pg import postgres_server
from tests.zoo.libs import LIBS
from tests.zoo.runner import SHAPES, Case, Outcome, Servers, run_all
from tests.zoo.servers import Sink, closed_port, grpc_echo, redis_server

NO_PLAIN = ("thread-pool-busy", "confluent-kafka-stuck")  # plain Python waits for them (forever, 60 s)
NAMED = ("resource.unmanaged", "process.lingering", "teardown.timeout", "resource.close_failed")


def _cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "-"
    if outcome.code == -1:
        return "did not exit"
    latency = "?" if outcome.latency is None else f"{max(outcome.latency, 0.0) * 1000:.0f} ms"
    named = ", ".join(sorted({str(e["event"]) for e in outcome.events if e.get("event") in NAMED}))
    return f"{outcome.code}, {latency}, sent {outcome.delivered}" + (f", {named}" if named else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libs", default=",".join(LIBS), help="comma-separated (default: all)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    libs = args.libs.split(",")
    cases = [Case(lib, shape, plain) for lib in libs for shape in SHAPES for plain in (False, True)]
    cases = [c for c in cases if not (c.plain and c.lib in NO_PLAIN)]
    with contextlib.ExitStack() as stack:
        sink = Sink()
        stack.callback(sink.close)
        servers = Servers(
            sink,
            stack.enter_context(redis_server()),
            stack.enter_context(postgres_server()),
            *stack.enter_context(grpc_echo()),
            stack.enter_context(closed_port()),
        )
        results = run_all(cases, servers, workers=args.workers)
    rows = [
        (lib, shape, _cell(results.get(Case(lib, shape))), _cell(results.get(Case(lib, shape, True))))
        for lib in libs
        for shape in SHAPES
    ]
    header = ("library", "shape", "jobframe: code, job.finished → exit, sent, named", "plain Python")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in rows:
            print(f"{row[0]:20} {row[1]:8} {row[2]:70} {row[3]}")


if __name__ == "__main__":
    main()
