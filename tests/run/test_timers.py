"""Which of the run's timers act in the main thread (woken by a signal, so they reach a job
blocked in a sleep or a C call) and which in the supervisor thread (when the main thread may be
stuck for good): the split the supervisor relies on (``jobframe._run.timers``)."""

from __future__ import annotations

from jobframe._run.supervisor import Supervisor
from jobframe._run.timers import Claimant, CloseTimer, Stage, Timer


def test_the_main_thread_timers_and_the_supervisors_own() -> None:
    main = {t.value for t in Timer if t.on_main_thread}
    assert main == {"deadline", "blocked", "reclaim", "recancel", "nudge", "redeliver"}
    assert {t.value for t in Timer if not t.on_main_thread} == {"check_handlers", "abandon", "takeover"}
    assert CloseTimer(3).on_main_thread  # a close is interrupted where it runs


def test_each_close_has_its_own_timer() -> None:
    assert CloseTimer(1) == CloseTimer(1) and hash(CloseTimer(1)) == hash(CloseTimer(1))
    assert CloseTimer(1) != CloseTimer(2)


def test_stages_and_claimants_are_named_as_before() -> None:
    assert [s.value for s in Stage] == ["force", "cancel", "teardown"]
    assert [c.value for c in Claimant] == ["job", "supervisor"]


def test_a_timer_fires_once_and_a_cancelled_one_never() -> None:
    fired: list[object] = []
    supervisor = Supervisor(fired.append, lambda signum: None)
    supervisor.at(Timer.ABANDON, 0.0)
    supervisor.at(CloseTimer(1), 0.0)
    supervisor.at(CloseTimer(2), 0.0)
    supervisor.cancel(CloseTimer(2))
    due, wait = supervisor._due()
    assert sorted(map(str, due)) == sorted(map(str, [Timer.ABANDON, CloseTimer(1)]))
    assert wait is None
    assert supervisor._due() == ([], None)
    supervisor.close_fds()
