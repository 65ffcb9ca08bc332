"""Startup cost of jobframe: jobs run end to end vs. a bare import of their dependencies.

Measured: the trivial app's no-op job, and the default app's ``SomeJob`` (the ``local`` profile:
it lists campaigns and sends a push on the in-process fake Braze, so the Braze client, its
models and the fake are loaded like a real Braze job loads them).

A container starts from compiled bytecode (the image compiles its code), so the benchmark does
too: everything is compiled first into a temporary ``PYTHONPYCACHEPREFIX`` (jobframe and the apps
with ``compileall``, the standard library and the dependencies by one warm-up run of each
command), and every measured run reads it. Each round runs the bare import and each job in a
rotating order, so machine noise hits them alike; a job's ratio is the median over the rounds of
(job / bare import of the same round), for the child's CPU time (``os.wait4``: user + system) and
for wall time. CPU is the verdict: on a loaded machine wall time mostly measures the other work.
The load average is printed before and after.

The targets are judged against the plain bare import: what starting a job without jobframe
costs. That floor includes two things jobframe does differently for every process, whatever
the job: the interpreter's shutdown (module teardown and a last collection over everything
loaded, about 40 ms of CPU here), which ``os._exit`` skips, and the cyclic garbage collector
running while modules load, which ``python -m jobframe`` pauses
(``jobframe/_process/collector.py``). A second ratio, against a bare import treated the same
way (collector paused, then ``os._exit``), shows what jobframe's own modules and run cost.

    python benchmarks/startup.py [--runs 25] [--importtime]

``--importtime`` adds ``-X importtime`` runs of each job: the self time of jobframe's and the
app's modules, as a share of the self time of every other module of the same run (so the
machine's noise mostly cancels out of the share); the median of a few runs.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MIN_RUNS = 20

BARE = "bare import of the four dependencies"
BARE_PAUSED = "the same, ended as jobframe ends"
TRIVIAL = "jobframe running a trivial job"
SOME_JOB = "jobframe running SomeJob (default app)"

COMMANDS = {
    BARE: [
        "-c",
        "import dependency_injector.containers, dependency_injector.providers,"
        " httpx, pydantic_settings, structlog",
    ],
    BARE_PAUSED: [
        "-c",
        "import gc; gc.disable(); import dependency_injector.containers, dependency_injector.providers,"
        " httpx, pydantic_settings, structlog; gc.freeze(); gc.enable(); import os; os._exit(0)",
    ],
    TRIVIAL: ["-m", "jobframe", "--app", "trivial_app:Container", "--job-name", "Noop"],
    SOME_JOB: ["-m", "jobframe", "--job-name", "SomeJob"],
}
CWD = {SOME_JOB: REPO}
TARGETS = {TRIVIAL: 1.05, SOME_JOB: 1.15}
IMPORTTIME_RUNS = 7
OWN = ("jobframe", "jobs", "trivial_app")
"""Top-level packages counted as jobframe's and the apps' own by ``--importtime``."""


def bytecode_env(base: dict[str, str], pycache: Path, *, write: bool) -> dict[str, str]:
    """``base`` reading (``write``: also writing) bytecode in ``pycache``, as a container image does.

    Measured runs read it and never write it (a miss would cost every run the compile); a first,
    uncounted run with ``write=True`` compiles what :func:`compile_sources` did not (the standard
    library and the dependencies).
    """
    env = {**base, "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def compile_sources(pycache: Path) -> None:
    """Compile jobframe, the default app and the benchmarks' apps into ``pycache``."""
    os.environ["PYTHONPYCACHEPREFIX"] = str(pycache)
    sys.pycache_prefix = str(pycache)
    for folder in (REPO / "jobframe", REPO / "jobs", HERE):
        compileall.compile_dir(folder, quiet=1)


def _env(pycache: Path, *, write: bool) -> dict[str, str]:
    base = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}
    return bytecode_env(base, pycache, write=write)


def _run(name: str, env: dict[str, str], *extra: str) -> tuple[float, float, str]:
    """One run: (wall seconds, child CPU seconds, stderr)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *extra, *COMMANDS[name]],
        cwd=CWD.get(name, HERE),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    stderr = child.stderr.read()  # the child's log; read to the end so it never blocks on a pipe
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{name} exited {child.returncode}:\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


def compile_all(pycache: Path) -> None:
    """Compile jobframe and the apps, then let one run of each command write the rest."""
    compile_sources(pycache)
    env = _env(pycache, write=True)
    for name in COMMANDS:
        _run(name, env)


def own_share(stderr: str) -> tuple[float, float]:
    """(self time of jobframe's and the app's modules, total self time) in microseconds, from
    ``-X importtime``'s lines."""
    own = total = 0.0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        total += float(self_us)
        if name.split(".")[0] in OWN:
            own += float(self_us)
    return own, total


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help=f"interleaved rounds (at least {MIN_RUNS})")
    parser.add_argument("--importtime", action="store_true", help="also print jobframe's self-time share")
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    names = list(COMMANDS)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="jobframe-pycache-") as tmp:
        pycache = Path(tmp)
        compile_all(pycache)
        env = _env(pycache, write=False)
        load_before = _load()
        for round_number in range(args.runs):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:  # rotate who goes first
                seconds, cpu_seconds, _ = _run(name, env)
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
        load_after = _load()
        print(f"python {sys.version.split()[0]}, bytecode compiled; {args.runs} interleaved rounds")
        print(f"load average (1, 5, 15 min): before {load_before}, after {load_after}; {os.cpu_count()} CPUs")
        for name in names:
            print(
                f"  {name:<40} CPU median {statistics.median(cpu[name]) * 1000:6.1f} ms   "
                f"wall median {statistics.median(wall[name]) * 1000:6.1f} ms"
            )
        worst_ok = True
        for name, target in TARGETS.items():
            cpu_ratio = statistics.median(c / b for c, b in zip(cpu[name], cpu[BARE], strict=True))
            wall_ratio = statistics.median(w / b for w, b in zip(wall[name], wall[BARE], strict=True))
            verdict = "OK" if cpu_ratio <= target else "OVER TARGET"
            worst_ok = worst_ok and cpu_ratio <= target
            print(
                f"ratio {name} / bare import: CPU {cpu_ratio:.3f}x, wall {wall_ratio:.3f}x "
                f"(target CPU <= {target}x) {verdict}"
            )
        for name in TARGETS:  # jobframe's own cost: the same process treatment on both sides
            own = statistics.median(c / b for c, b in zip(cpu[name], cpu[BARE_PAUSED], strict=True))
            print(f"ratio {name} / {BARE_PAUSED}: CPU {own:.3f}x (jobframe's own cost; no target)")
        if args.importtime:
            for name in TARGETS:
                shares = []
                for _ in range(IMPORTTIME_RUNS):
                    own, total = own_share(_run(name, env, "-X", "importtime")[2])
                    shares.append((100 * own / (total - own), own))
                share, own = statistics.median_low(shares)
                print(
                    f"importtime {name}: jobframe + app self time {own / 1000:.1f} ms = "
                    f"{share:.1f} % of the other imports of the same run (median of {IMPORTTIME_RUNS} runs)"
                )
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
