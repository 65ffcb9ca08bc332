"""The whole chaos matrix: every fault around a resumable run x both bulk jobs x both stores.

Through real processes against the fake Braze (its request log is the truth), PostgreSQL a real
server started here. Each trial is checked by ``tests.resume.chaos.check``: no id reaches Braze
twice, every id is received or listed ambiguous by the attempt that finishes, every attempt exits
with its documented code. ``tests/resume/test_chaos.py`` runs a sample of this in CI.

    PYTHONPATH=. python benchmarks/resume_chaos.py                  # ~4 minutes
    PYTHONPATH=. python benchmarks/resume_chaos.py --repeat 3       # every trial three times
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tests.resume.chaos import (
    FAULTS,
    JOBS,
    PostgresStore,
    SqliteStore,
    Store,
    Trial,
    applies,
    check,
    run_trial,
)
from tests.resume.pg import PostgresServer


def _row(trial: Trial) -> tuple[bool, str]:
    """Whether ``trial`` kept the invariant, and its line of the table."""
    final = trial.final
    twice = sum(1 for n in trial.received.values() if n > 1)
    listed = final.ambiguous_ids() if final is not None else set()
    unaccounted = len(set(trial.ids) - set(trial.received) - listed) if final else "-"
    codes = " ".join(str(a.code) for _, a, _ in trial.attempts)
    takeover = trial.notes.get("takeover_s")
    shown = "" if takeover is None else f"{takeover:.2f} s"
    try:
        check(trial)
        ok, verdict = True, "ok"
    except AssertionError as exc:
        ok, verdict = False, "FAILED: " + str(exc).splitlines()[0][:200]
    cells = (
        f"{trial.fault:<32} {trial.job.name:<20} {trial.store:<9} {codes:<18} {twice:>5}  {unaccounted!s:>11}"
    )
    return ok, f"{cells}  {len(listed):>9}  {shown:>8}  {verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="run every trial this many times")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    stores = ["sqlite"] if args.no_postgres else ["sqlite", "postgres"]
    server = None if args.no_postgres else PostgresServer()
    if server is not None:
        server.start()
    failures = trials = 0
    start = time.perf_counter()
    print(
        f"{'fault':<32} {'job':<20} {'store':<9} {'exit codes':<18} twice  unaccounted  ambiguous  takeover"
    )
    try:
        for fault in FAULTS:
            for job in JOBS:
                for kind in stores:
                    if not applies(fault, kind):
                        continue
                    for number in range(args.repeat):
                        trials += 1
                        with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
                            store: Store
                            if kind == "sqlite":
                                store = SqliteStore(Path(tmp))
                            else:
                                assert server is not None
                                store = PostgresStore(server, f"chaos{trials}")
                            trial = run_trial(fault, job, store, Path(tmp))
                        ok, row = _row(trial)
                        failures += not ok
                        print(row, flush=True)
                        del number
    except Exception:
        traceback.print_exc()
        failures += 1
    finally:
        if server is not None:
            server.remove()
    print(f"\n{trials} trials, {failures} failed ({time.perf_counter() - start:.0f} s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
