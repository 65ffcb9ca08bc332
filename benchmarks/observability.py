"""Cost of observability: a run with --pushgateway, and with OTel tracing, vs. the same run without.

Two workloads, each a real ``python -m jobframe`` process of the default app (``local`` profile,
the in-process fake Braze):

* ``SomeJob`` end to end — startup dominates (two Braze requests);
* ``SendPushFromFile`` to 20,000 recipients — 400 batched requests, each counted (and, traced,
  one span each).

Variants: plain; plain again (the control: what two identical runs differ by, the noise floor);
``--pushgateway`` to a real Pushgateway (Debian's ``prometheus-pushgateway``, started here on a
free port); ``OTEL_EXPORTER_OTLP_ENDPOINT`` to a local OTLP/HTTP receiver (the ``otel`` extra).
Everything runs from compiled bytecode, as an image does (see ``startup.py``). The variants of
one workload run interleaved, in a rotating order, so machine noise hits them alike; each result
is the median over rounds of the ratio to the plain run of the same round — wall time and CPU
time (user + system, from ``wait4``) of the whole process, and the job's own ``duration_s`` —
with the middle half of those ratios (the spread). Target: the Pushgateway costs ≤ 2 % on both
workloads, judged on CPU time (wall time is printed too; on a loaded machine it carries the other
processes' noise). The control's spread says how far apart two identical runs land.

Then, unless ``--no-phases``: where the Pushgateway's extra CPU goes. Plain and ``--pushgateway``
runs again, interleaved, through ``push_phases.py`` (the same run with CPU timers around
jobframe's own functions); the median per phase and the median of the per-round differences,
and their sum over the segments where ``--pushgateway`` does work of its own (reporting, report,
exit) as a share of the plain run: the fixed cost without the noise of the segments that run the
same code (startup, the job).

    python benchmarks/observability.py [--runs 20] [--no-phases]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from startup import bytecode_env, compile_sources  # noqa: E402

from tests.observe.gateway import pushgateway  # noqa: E402
from tests.observe.otlp import OtlpReceiver  # noqa: E402

TARGET = 1.02
BULK = 20_000
PLAIN, CONTROL, GATEWAY, TRACING = "plain", "plain (control)", "--pushgateway", "OTel tracing"
SEGMENTS = ("startup", "reporting", "run", "report", "exit")
"""push_phases.py's segments of a process, in order; they add up to its CPU time."""
FIXED = ("reporting", "report", "exit")
"""The segments where --pushgateway does work of its own; startup and run run the same code."""
PUSH_PHASES = ("import", "families", "send", "thread")
"""Inside ``reporting`` and ``report`` with ``--pushgateway``."""
T = TypeVar("T")


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall and CPU (user + system) seconds of the process, and the job's ``duration_s``."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} exited {proc.returncode}")
        out.seek(0)
        finished = [json.loads(line) for line in out if '"job.finished"' in line]
    return wall, usage.ru_utime + usage.ru_stime, float(finished[-1]["duration_s"])


def _phases(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """One run through push_phases.py: CPU milliseconds per segment and push phase."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as marks:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env={**env, "PUSH_PHASES_OUT": marks.name, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{cmd} exited {os.waitstatus_to_exitcode(status)}")
        ns = json.loads(marks.read())
    total_ns = (usage.ru_utime + usage.ru_stime) * 1e9
    ns["exit"] = total_ns - ns.pop("until_exit")
    ns["total"] = total_ns
    return {key: value / 1e6 for key, value in ns.items()}


def _interleaved(runs: int, variants: Sequence[str], measure: Callable[[str], T]) -> dict[str, list[T]]:
    """``runs`` rounds of every variant, the order rotating from round to round."""
    samples: dict[str, list[T]] = {v: [] for v in variants}
    for round_number in range(runs):
        shift = round_number % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            samples[variant].append(measure(variant))
    return samples


def _spread(values: list[float]) -> tuple[float, float, float]:
    """Median, and the first and third quartiles."""
    low, _, high = statistics.quantiles(values, n=4)
    return statistics.median(values), low, high


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _print_ratios(samples: dict[str, list[tuple[float, float, float]]]) -> bool:
    """The ratio lines of one workload; False when the Pushgateway misses its target."""
    plain = samples[PLAIN]
    medians = [statistics.median(s[i] for s in plain) * 1000 for i in range(3)]
    print(f"  plain medians {medians[0]:.1f} ms wall, {medians[1]:.1f} ms CPU, job {medians[2]:.1f} ms")
    ok = True
    for variant, runs in samples.items():
        if variant == PLAIN:
            continue
        pairs = list(zip(runs, plain, strict=True))
        wall, job = (statistics.median(v[i] / p[i] for v, p in pairs) for i in (0, 2))
        cpu, low, high = _spread([v[1] / p[1] for v, p in pairs])
        extra = statistics.median(v[1] - p[1] for v, p in pairs)  # a fixed cost reads better in ms
        verdict = ""
        if variant == GATEWAY:
            ok = cpu <= TARGET
            verdict = f"  (CPU target <= {TARGET:.2f}: {'ok' if ok else 'MISSED'})"
        elif variant == CONTROL:
            verdict = "  (the noise floor)"
        print(
            f"  {variant:16s} CPU {cpu:.3f}x ({extra * 1000:+.1f} ms; middle half {low:.3f}-{high:.3f})"
            f"   wall {wall:.3f}x   job {job:.3f}x{verdict}"
        )
    return ok


def _print_phases(samples: dict[str, list[dict[str, float]]]) -> None:
    plain, gateway = samples[PLAIN], samples[GATEWAY]
    header = f"  {'CPU ms':24s} {'plain':>8s} {'--pushgateway':>14s}"
    print(f"{header}   difference, per round: median [middle half]")
    for key in (*SEGMENTS, "total"):
        differences = [g[key] - p[key] for g, p in zip(gateway, plain, strict=True)]
        median, low, high = _spread(differences)
        print(
            f"  {key:24s} {statistics.median(p[key] for p in plain):8.2f} "
            f"{statistics.median(g[key] for g in gateway):14.2f}   {median:+7.2f} [{low:+.2f} .. {high:+.2f}]"
        )
    fixed = statistics.median(
        sum(g[key] - p[key] for key in FIXED) for g, p in zip(gateway, plain, strict=True)
    )
    share = 100 * fixed / statistics.median(p["total"] for p in plain)
    print(f"  extra in {' + '.join(FIXED)}: {fixed:+.2f} ms = {share:.2f} % of the plain run's CPU")
    labels = {
        "import": "  import prometheus-client (reporting)",
        "families": "  this run's families (report)",
        "send": "  exposition + HTTP (report)",
        "thread": "  thread, bound (report)",
    }
    for key in PUSH_PHASES:
        median, low, high = _spread([g[key] for g in gateway])
        print(f"  {labels[key]:40s} {median:7.2f} [{low:.2f} .. {high:.2f}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument("--no-phases", action="store_true", help="skip the per-phase breakdown")
    args = parser.parse_args()
    if args.runs < 4:
        parser.error("--runs must be at least 4 (the spread is the middle half of the rounds)")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBFRAME_", "OTEL_", "ARGO_"))}
    base_env["PYTHONPATH"] = str(REPO)
    with ExitStack() as stack:
        pycache = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jobframe-pycache-")))
        compile_sources(pycache)  # as an image runs: without bytecode every start compiles jobframe
        warm_env = bytecode_env(base_env, pycache, write=True)
        base_env = bytecode_env(base_env, pycache, write=False)
        gateway = stack.enter_context(pushgateway())
        collector = stack.enter_context(OtlpReceiver())
        ids = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "ids.txt"
        ids.write_text("".join(f"user-{i}\n" for i in range(BULK)))
        job_args = {
            "SomeJob (startup)": ["--job-name", "SomeJob"],
            f"SendPushFromFile, {BULK:,} recipients": [
                "--job-name",
                "SendPushFromFile",
                *("--param", f"path={ids}", "--param", "title=Hi", "--param", "body=Hello"),
            ],
        }
        variants: dict[str, tuple[list[str], dict[str, str]]] = {
            PLAIN: ([], {}),
            CONTROL: ([], {}),
            GATEWAY: (["--pushgateway", gateway], {}),
            TRACING: ([], {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}),
        }
        jobframe = [sys.executable, "-m", "jobframe", "--log-format", "json"]
        phased = [sys.executable, "-m", "push_phases", "--log-format", "json"]
        print(f"load average before: {_load()} on {os.cpu_count()} CPUs")
        print(f"{args.runs} interleaved rounds per workload; ratio = variant / plain of the same round\n")
        failed = False
        for name, cmd in job_args.items():
            for extra, env in variants.values():  # warm-up, not counted: writes the dependencies' bytecode
                _run([*jobframe, *cmd, *extra], {**warm_env, **env})
                _phases([*phased, *cmd, *extra], {**warm_env, **env})

            def whole(variant: str, cmd: list[str] = cmd) -> tuple[float, float, float]:
                extra, env = variants[variant]
                return _run([*jobframe, *cmd, *extra], {**base_env, **env})

            print(f"{name}:")
            failed = not _print_ratios(_interleaved(args.runs, list(variants), whole)) or failed
            if not args.no_phases:

                def phases(variant: str, cmd: list[str] = cmd) -> dict[str, float]:
                    return _phases([*phased, *cmd, *variants[variant][0]], base_env)

                print(f"  where --pushgateway's CPU goes ({args.runs} rounds more, timed in-process):")
                _print_phases(_interleaved(args.runs, [PLAIN, GATEWAY], phases))
            print()
        print(f"load average after: {_load()}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
