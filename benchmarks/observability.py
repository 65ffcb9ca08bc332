"""Cost of observability: a run with --pushgateway, and with OTel tracing, vs. the same run without.

Two workloads, each a real ``python -m jobframe`` process of the default app (``local`` profile,
the in-process fake Braze):

* ``SomeJob`` end to end — startup dominates (two Braze requests);
* ``SendPushFromFile`` to 20,000 recipients — 400 batched requests, each counted (and, traced,
  one span each).

Variants: plain; ``--pushgateway`` to a real Pushgateway (Debian's ``prometheus-pushgateway``,
started here on a free port); ``OTEL_EXPORTER_OTLP_ENDPOINT`` to a local OTLP/HTTP receiver (the
``otel`` extra). Everything runs from compiled bytecode, as an image does (see
``startup.py``). The variants of one workload run interleaved, in a rotating order, so machine
noise hits them alike; each result is the median over pairs of the ratio to the plain run
next to it: wall time and CPU time (user + system, from ``wait4``) of the whole process, and the
job's own ``duration_s``. Target: the Pushgateway costs ≤ 2 % on both workloads, judged on CPU time
(wall time is printed too; on a loaded machine it carries the other processes' noise).

    python benchmarks/observability.py [--runs 15]
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
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from startup import bytecode_env, compile_sources  # noqa: E402

from tests.observe.gateway import pushgateway  # noqa: E402
from tests.observe.otlp import OtlpReceiver  # noqa: E402

TARGET = 1.02
BULK = 20_000


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
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
        jobframe = [sys.executable, "-m", "jobframe", "--log-format", "json"]
        workloads = {
            "SomeJob (startup)": [*jobframe, "--job-name", "SomeJob"],
            f"SendPushFromFile, {BULK:,} recipients": [
                *jobframe,
                "--job-name",
                "SendPushFromFile",
                "--param",
                f"path={ids}",
                "--param",
                "title=Hi",
                "--param",
                "body=Hello",
            ],
        }
        variants = {
            "plain": ([], {}),
            "--pushgateway": (["--pushgateway", gateway], {}),
            "OTel tracing": ([], {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}),
        }
        load = os.getloadavg()
        print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
        print(f"{args.runs} interleaved rounds per workload; ratio = variant / plain of the same round\n")
        failed = False
        for name, cmd in workloads.items():
            samples: dict[str, list[tuple[float, float, float]]] = {v: [] for v in variants}
            for extra, env in variants.values():  # warm-up, not counted: writes the dependencies' bytecode
                _run([*cmd, *extra], {**warm_env, **env})
            names = list(variants)
            for round_number in range(args.runs):
                shift = round_number % len(names)
                for variant in names[shift:] + names[:shift]:  # rotate who goes first
                    extra, env = variants[variant]
                    samples[variant].append(_run([*cmd, *extra], {**base_env, **env}))
            plain = samples["plain"]
            medians = [statistics.median(s[i] for s in plain) * 1000 for i in range(3)]
            print(
                f"{name}: plain medians {medians[0]:.1f} ms wall, {medians[1]:.1f} ms CPU, "
                f"job {medians[2]:.1f} ms"
            )
            for variant in list(variants)[1:]:
                wall, cpu, job = (
                    statistics.median(v[i] / p[i] for v, p in zip(samples[variant], plain, strict=True))
                    for i in range(3)
                )
                extra_cpu = statistics.median(
                    v[1] - p[1] for v, p in zip(samples[variant], plain, strict=True)
                )  # a fixed cost (imports, one push) reads better in ms than as a ratio
                verdict = ""
                if variant == "--pushgateway":
                    ok = cpu <= TARGET
                    failed = failed or not ok
                    verdict = f"  (CPU target <= {TARGET:.2f}: {'ok' if ok else 'MISSED'})"
                print(
                    f"  {variant:14s} wall {wall:.3f}x   CPU {cpu:.3f}x ({extra_cpu * 1000:+.1f} ms)"
                    f"   job {job:.3f}x{verdict}"
                )
            print()
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
