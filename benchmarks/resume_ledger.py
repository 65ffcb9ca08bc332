"""What the run ledger costs a bulk job, and what killing one does — both stores, real processes.

1. Throughput: the default app's bulk jobs run as ``python -m jobframe`` against the fake Braze
   (its own process) answering after 50 ms, without a run key (no ledger) and with one, in SQLite
   (``synchronous=NORMAL``, the default, and ``FULL``: ``durable_against=power_loss``)
   and in PostgreSQL (a real server started here, fsync on), interleaved over ``--rounds``; the
   medians and the ratio with/without. The promise: the ledger keeps >= 90% of the throughput.
2. Killing: ``--kill-trials`` sends of 3,000 ids SIGKILLed at a random point (sometimes twice),
   then run again with the same run key until one exits 0; over every attempt, the fake's request
   log counts ids received twice (must be 0) and ids neither received nor reported ambiguous
   (must be 0).

    PYTHONPATH=. python benchmarks/resume_ledger.py                 # ~5 minutes
    PYTHONPATH=. python benchmarks/resume_ledger.py --quick         # a smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEY = "bench-key"
CPU: list[float] = []
"""CPU seconds (user + system) of each job process, in run order: less noisy than wall time."""


@contextmanager
def fake_process(delay: float) -> Iterator[str]:
    cmd = [
        sys.executable, "-m", "jobframe.braze.fake", "--port=0", f"--delay={delay}", f"--api-key={KEY}",
        "--no-store", "--record-limit=0",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def run_job(job: str, params: dict[str, str], url: str, ledger: dict[str, str], key: str | None) -> float:
    """Seconds from ``job.started`` to ``job.finished`` (the bulk work, not interpreter startup)."""
    cmd = [sys.executable, "-m", "jobframe", "--job-name", job, "--log-format", "json"]
    cmd += [] if key is None else ["--run-key", key]
    for name, value in params.items():
        cmd += ["--param", f"{name}={value}"]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "BRAZE__BASE_URL": url, "BRAZE__API_KEY": KEY}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**env, **ledger}, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"{job} exited {out.returncode}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    stamp = {e["event"]: e["timestamp"] for e in events if e["event"] in ("job.started", "job.finished")}
    from datetime import datetime  # noqa: PLC0415

    started, finished = (datetime.fromisoformat(stamp[k]) for k in ("job.started", "job.finished"))
    return (finished - started).total_seconds()


def _spread(times: list[float]) -> str:
    return "(" + " ".join(f"{t:.2f}" for t in sorted(times)) + ")"


def throughput(args: argparse.Namespace, stores: dict[str, dict[str, str]], work: Path) -> None:
    ids = work / "ids.txt"
    ids.write_text("".join(f"u{i:07d}\n" for i in range(args.sends)))
    users = work / "users.jsonl"
    users.write_text(
        "".join(json.dumps({"external_id": f"a{i:07d}", "tier": "gold"}) + "\n" for i in range(args.objects))
    )
    from tests.resume.harness import write_counted_attributes  # noqa: PLC0415

    counted = work / "counted.jsonl"
    write_counted_attributes(counted, args.increments)
    jobs = {
        "SendPushFromFile": (
            "SendPushFromFile",
            {"path": str(ids), "title": "Hi", "body": "Once"},
            args.sends,
        ),
        "UpdateUserAttributes": ("UpdateUserAttributes", {"path": str(users)}, args.objects),
        # runs of 260 sets and 190 increments: with a ledger the increments go one at a time
        "UpdateUserAttributes+inc": ("UpdateUserAttributes", {"path": str(counted)}, args.increments),
    }
    print(
        f"\n-- throughput at 50 ms latency, medians of {args.rounds} interleaved rounds "
        "(job.started -> job.finished; every run in brackets)"
    )
    with fake_process(0.05) as url:
        for job, (name_, params, n) in jobs.items():
            times: dict[str, list[float]] = {"no ledger": [], **{name: [] for name in stores}}
            cpu: dict[str, list[float]] = {name: [] for name in times}
            for round_ in range(args.rounds):
                times["no ledger"].append(run_job(name_, params, url, {}, None))
                cpu["no ledger"].append(CPU[-1])
                for name, env in stores.items():
                    times[name].append(run_job(name_, params, url, env, f"bench-{job}-{name}-{round_}"))
                    cpu[name].append(CPU[-1])
            base = statistics.median(times["no ledger"])
            print(
                f"   {job} ({n} objects): no ledger {base:6.2f} s  {n / base:7.0f} obj/s  "
                f"{_spread(times['no ledger'])}"
            )
            for name in stores:
                t = statistics.median(times[name])
                print(
                    f"   {'':<{len(job)}}   {name:<10} {t:6.2f} s  {n / t:7.0f} obj/s  "
                    f"{base / t * 100:5.1f}% of the throughput  {_spread(times[name])}"
                )
            base_cpu = statistics.median(cpu["no ledger"])
            ratios = ", ".join(
                f"{name} {statistics.median(cpu[name]) / base_cpu * 100:.1f}%" for name in stores
            )
            print(f"   {'':<{len(job)}}   CPU of the job process vs no ledger (medians): {ratios}")


def increment_kills(args: argparse.Namespace, stores: dict[str, dict[str, str]], work: Path) -> None:
    """The async attribute job over sets and increments, SIGKILLed at random points: how many
    batches a kill leaves ambiguous (at most the one non-repeatable batch in flight)."""
    from tests.resume.harness import bulk_job, fake_braze, write_counted_attributes  # noqa: PLC0415

    rng = random.Random(args.seed + 1)
    path = work / "kill-counted.jsonl"
    _plain, adding = write_counted_attributes(path, 9000)
    print(f"\n-- increments killed at random points, rerun: {args.kill_trials} trials per store")
    lease = {"LEDGER__LEASE": "2", "LEDGER__LEASE_WAIT": "60"}  # the rerun waits out the dead holder
    for name, store_env in stores.items():
        env = {**store_env, **lease}
        worst = twice = missing = 0
        for trial in range(args.kill_trials):
            key = f"inc-{name}-{trial}"
            with fake_braze(latency=0.02) as (fake, server):
                bulk_job(
                    "UpdateUserAttributes",
                    {"path": path},
                    server,
                    env,
                    run_key=key,
                    kill_after=rng.uniform(0.05, 0.6),
                )
                final = bulk_job("UpdateUserAttributes", {"path": path}, server, env, run_key=key)
                tracked = fake.objects_tracked()
            assert final.code == 0, final.output[-3000:]
            worst = max(worst, len(final.resume["ambiguous"]))
            twice += sum(1 for i in adding if tracked[i] > 1)
            missing += len(set(adding) - set(tracked) - final.ambiguous_ids())
        print(
            f"   {name:<10} most batches ambiguous after one kill: {worst}; increments received twice "
            f"{twice}; neither received nor reported {missing}"
        )


def kill_trials(args: argparse.Namespace, stores: dict[str, dict[str, str]], work: Path) -> None:
    from tests.resume.harness import bulk_job, fake_braze, write_ids  # noqa: PLC0415

    rng = random.Random(args.seed)
    path = work / "kill-ids.txt"
    ids = write_ids(path, 3000)
    params = {"path": path, "title": "Hi", "body": "Once"}
    print(
        f"\n-- killed at random points (SIGKILL), rerun with the same run key: "
        f"{args.kill_trials} trials per store"
    )
    # a short lease that a rerun waits out: a killed attempt's key is free 2 s after its death
    lease = {"LEDGER__LEASE": "2", "LEDGER__LEASE_WAIT": "60"}
    for name, store_env in stores.items():
        env = {**store_env, **lease}
        twice = missing = ambiguous = attempts_total = 0
        for trial in range(args.kill_trials):
            key = f"kill-{name}-{trial}"
            with fake_braze(latency=0.02) as (fake, server):
                for _ in range(rng.choice((1, 1, 2))):
                    bulk_job(
                        "SendPushFromFile",
                        params,
                        server,
                        env,
                        run_key=key,
                        kill_after=rng.uniform(0.05, 1.2),
                    )
                    attempts_total += 1
                final = bulk_job("SendPushFromFile", params, server, env, run_key=key)
                attempts_total += 1
                sent = fake.ids_sent()
            assert final.code == 0, final.output[-3000:]
            twice += sum(1 for n in sent.values() if n > 1)
            listed = final.ambiguous_ids()
            ambiguous += len(listed)
            missing += len(set(ids) - set(sent) - listed)
        print(
            f"   {name:<10} {attempts_total} attempts: ids received twice {twice}, neither received nor "
            f"reported {missing}, reported ambiguous {ambiguous} "
            f"({ambiguous / max(args.kill_trials, 1):.0f} per trial)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=6_000, help="ids sent (50 per request)")
    parser.add_argument("--objects", type=int, default=200_000, help="attributes tracked (75 per request)")
    parser.add_argument("--increments", type=int, default=45_000, help="sets and increments tracked")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kill-trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.sends, args.objects, args.increments, args.rounds, args.kill_trials = 3_000, 9_000, 4_500, 1, 2
    print(f"python {sys.version.split()[0]}; the ledger's two stores, as a user configures them")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
        work = Path(tmp)
        stores = {
            "sqlite": {"LEDGER__PATH": str(work / "ledger.sqlite3")},
            # synchronous=FULL: an fsync per group commit, against losing the node, not just the process
            "sqlite FULL": {
                "LEDGER__PATH": str(work / "full.sqlite3"),
                "LEDGER__DURABLE_AGAINST": "power_loss",
            },
        }
        if not args.no_postgres:
            from tests.resume.pg import postgres_server  # noqa: PLC0415

            dsn = stack.enter_context(postgres_server(fsync=True))
            stores["postgres"] = {"LEDGER__STORE": "postgres", "LEDGER__DSN": dsn}
        start = time.perf_counter()
        throughput(args, stores, work)
        kill_trials(args, stores, work)
        increment_kills(args, stores, work)
        print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
