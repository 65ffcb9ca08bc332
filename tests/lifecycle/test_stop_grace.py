"""The worst case after a SIGTERM, on a real process: everything that may wait does, at once.

docs/lifecycle.md promises a run ends within ``Budget.stop_grace`` of a SIGTERM — cancel grace,
teardown budget, exit grace and 2 s of slack — which is what ``jobframe-argo`` renders as the
pod's ``terminationGracePeriodSeconds`` (after it, Kubernetes sends SIGKILL). Here the job
swallows its cancellation, a close hangs, a non-daemon thread and a child process linger, an
``atexit`` hook hangs and the Pushgateway accepts the push and never answers: the process must
still be gone within ``stop_grace``, measured from the signal, with 143 and every wait named.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from jobframe.deadline import Budget
from tests.observe.gateway import HangingServer

from .jobproc import running

pytestmark = pytest.mark.process

BUDGETS = {
    "defaults": Budget(),  # what deploy/ renders: 11 s
    "short": Budget(cancel_grace=1.0, shutdown_timeout=2.0),
}
EXIT_GRACE = {"defaults": 2.0, "short": 1.0}


@pytest.mark.parametrize("close", ["hang", "stuck"])
@pytest.mark.parametrize("budgets", sorted(BUDGETS))
def test_everything_waiting_at_once_still_ends_within_the_stop_grace(
    tmp_path: Path, budgets: str, close: str
) -> None:
    budget, exit_grace = BUDGETS[budgets], EXIT_GRACE[budgets]
    bound = budget.stop_grace(exit_grace)
    flags = [
        f"--cancel-grace={budget.cancel_grace:g}",
        f"--shutdown-timeout={budget.shutdown_timeout:g}",
        f"--exit-grace={exit_grace:g}",
    ]
    env = {"HOSTILE_CLOSE": close}
    with HangingServer() as gateway:
        with running(
            "SyncShape",
            *flags,
            "--pushgateway",
            gateway.url,
            params={"shape": "worst"},
            env=env,
            record=tmp_path / "record.txt",
            app="hostile:Container",
        ) as proc:
            proc.wait_for("app.ready")
            sent = proc.send(signal.SIGTERM)
            code = proc.wait(bound + 30)
        assert gateway.accepted.is_set(), f"the push was never tried:\n{proc.output}"
    assert proc.exited_at is not None
    took = proc.exited_at - sent
    assert code == 143, proc.output
    assert took <= bound, f"gone {took:.2f}s after SIGTERM, promised {bound:g}s:\n{proc.output}"
    # every wait was real, bounded and named
    assert proc.named("job.abandoned") or proc.named("job.cancel_ignored"), proc.output
    assert [e["resource"] for e in proc.named("teardown.timeout")] == ["r1"], proc.output
    assert proc.one("metrics.push_failed")["error"].startswith("no answer within"), proc.output
    assert "hostile-thread" in str(proc.named("process.lingering")), proc.output
    assert proc.one("exit.hook_timeout")["stage"] == "atexit", proc.output
    last = proc.order()[-1]
    assert last == "process.exit", proc.output
    assert proc.named("process.exit")[-1]["exit_code"] == 143
