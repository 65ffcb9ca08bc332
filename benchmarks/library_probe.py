"""Third-party libraries under jobframe, as real processes: a manual probe of docs/lifecycle.md's
promise with the libraries batch jobs use (the zoo, ``tests/zoo``, is the automated part).

Each case of ``library_probe/probeapp.py`` runs as ``python -m jobframe`` in its own session:

* ``done`` — the job uses the library and returns, leaving it as a careless job would;
* ``sigterm`` — the job holds the library busy (``probe.ready``), SIGTERM goes to the group;
* ``timeout`` — held busy with ``--timeout 5``;
* ``plain`` — the same calls in a plain interpreter (what the library does without jobframe).

For each run it prints the exit code, ``job.finished``'s statuses, seconds from ``job.finished``
(and from SIGTERM) to the exit, the warnings logged, what of the session is alive after the exit,
and the Sentry events the loopback sink received. Needs the libraries (not a project extra):

    pip install sentry-sdk tqdm requests SQLAlchemy "psycopg[binary]" psycopg-pool redis boto3 \\
        "moto[server]" grpcio joblib loky pandas APScheduler schedule
    PYTHONPATH=. python benchmarks/library_probe.py            # every case, done and sigterm
    PYTHONPATH=. python benchmarks/library_probe.py --cases loky_reusable --modes done,timeout

Redis and PostgreSQL cases need Debian's servers (``bash .ci/redis``, ``bash .ci/postgres``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tests.lifecycle.jobproc import JobProcess, session_alive
from tests.resume.pg import postgres_server
from tests.zoo.servers import Sink, grpc_echo, redis_server

HERE = Path(__file__).resolve().parent / "library_probe"
sys.path.insert(0, str(HERE))
from probeapp import CASES  # noqa: E402 - the app's directory is put on the path just above

RUN = (
    "import probeapp, sys, json; probeapp.CASES[sys.argv[1]](False); "
    "print(json.dumps({'event': 'job.finished'}))"
)


def _cmd(case: str, mode: str) -> list[str]:
    if mode == "plain":
        return [sys.executable, "-c", RUN, case]
    cmd = [sys.executable, "-m", "jobframe", "--app", "probeapp:Container", "--job-name", "Probe"]
    cmd += ["--log-format", "json", "--param", f"case={case}"]
    if mode in ("sigterm", "timeout"):
        cmd += ["--param", "hold=true"]
    return [*cmd, "--timeout", "5"] if mode == "timeout" else cmd


def run(case: str, mode: str, env: dict[str, str], sink: Sink) -> dict[str, Any]:
    token = str(uuid.uuid4().int % 10**8)  # Sentry wants a numeric project id
    env = {**env, "TOKEN": token, "PYTHONPATH": str(HERE)}
    proc = JobProcess("Probe", cmd=_cmd(case, mode), env=env, cwd=HERE)
    sent = None
    try:
        if mode == "sigterm":
            try:
                proc.wait_for("probe.ready", timeout=60)
            except AssertionError:  # it ended before it was ready (sentry_error raises at once)
                return {"case": case, "mode": mode, "skipped": "ended before probe.ready"}
            sent = proc.send_group(15)
        proc.wait_exit(60)
        alive = session_alive(proc.pid)
        code = proc.wait(1)
    finally:
        proc.kill()
    assert proc.exited_at is not None
    finished = [line for line in proc.lines if line.event and line.event.get("event") == "job.finished"]
    events = [line.event for line in proc.lines if line.event]
    return {
        "case": case,
        "mode": mode,
        "code": code,
        "finished": [line.event.get("status") for line in finished if line.event],
        "after_finished_s": round(proc.exited_at - finished[0].at, 3) if finished else None,
        "after_sigterm_s": round(proc.exited_at - sent, 3) if sent else None,
        "warnings": [e.get("event") for e in events if e.get("level") in ("warning", "error")],
        "alive_after": alive,
        "sentry_events": sink.count(token, "event"),
        "stdout_not_json": [line.raw[:80] for line in proc.lines if line.event is None],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--modes", default="done,sigterm")
    args = parser.parse_args()
    cases, modes = args.cases.split(","), args.modes.split(",")
    sink = Sink()
    hanging = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog), never answers
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="library-probe-") as tmp:
        stack.callback(sink.close)
        stack.callback(hanging.close)
        env = {"SINK_PORT": str(sink.port), "HANG_PORT": str(hanging.getsockname()[1]), "WORKDIR": tmp}
        if any(c.startswith("redis") for c in cases):
            env["REDIS_URL"] = stack.enter_context(redis_server())
        if any(c.startswith(("psycopg", "sqlalchemy_pg")) for c in cases):
            env["PG_DSN"] = stack.enter_context(postgres_server())
            env["PG_URL"] = env["PG_DSN"].replace("postgresql://", "postgresql+psycopg://")
        if any(c.startswith("grpc") for c in cases):
            env["GRPC"] = stack.enter_context(grpc_echo())[0]
        if any(c.startswith("boto3") for c in cases):
            from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only for the S3 case

            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
            moto.start()
            stack.callback(moto.stop)
            env["S3_URL"] = "http://{}:{}".format(*moto.get_host_and_port())
        for case in cases:
            for mode in modes:
                print(json.dumps(run(case, mode, env, sink)), flush=True)


if __name__ == "__main__":
    main()
