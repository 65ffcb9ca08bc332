"""The pure decisions behind the lifecycle, 2: what a signal or the deadline means in each phase
(``jobframe._run.reactions``). Exact values, so a mutation run cannot slip past."""

from __future__ import annotations

import signal

import pytest

from jobframe._run.outcome import exit_code
from jobframe._run.reactions import Action, Event, Phase, react
from jobframe.errors import JobInterrupted
from jobframe.exit_codes import ExitCode

# -- what a signal means ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", list(Event))
def test_while_the_job_runs_every_event_cancels_it(event: Event) -> None:
    assert react(Phase.RUNNING, event) is Action.CANCEL
    assert react(Phase.RUNNING, event, earlier_sigints=0) is Action.CANCEL


@pytest.mark.parametrize("event", [Event.SIGTERM, Event.DEADLINE])
def test_earlier_sigints_change_nothing_for_sigterm_or_the_deadline(event: Event) -> None:
    assert react(Phase.RUNNING, event, earlier_sigints=1) is Action.CANCEL
    assert react(Phase.RUNNING, event, earlier_sigints=3) is Action.CANCEL


def test_a_second_sigint_before_the_first_was_answered_forces_the_exit() -> None:
    # still running: the first is being answered (a handler of the job's own runs first)
    assert react(Phase.RUNNING, Event.SIGINT, earlier_sigints=1) is Action.FORCE_EXIT
    assert react(Phase.RUNNING, Event.SIGINT, earlier_sigints=2) is Action.FORCE_EXIT


@pytest.mark.parametrize("phase", [Phase.CANCELLING, Phase.TEARDOWN])
def test_once_cancelled_a_repeated_sigterm_or_the_deadline_is_only_noted(phase: Phase) -> None:
    assert react(phase, Event.SIGTERM) is Action.NOTE
    assert react(phase, Event.SIGTERM, earlier_sigints=1) is Action.NOTE
    assert react(phase, Event.DEADLINE, earlier_sigints=1) is Action.NOTE
    assert react(phase, Event.SIGINT, earlier_sigints=0) is Action.NOTE
    assert react(phase, Event.SIGINT) is Action.NOTE  # the first SIGINT, by default


@pytest.mark.parametrize("phase", [Phase.CANCELLING, Phase.TEARDOWN])
def test_a_second_sigint_forces_the_exit(phase: Phase) -> None:
    assert react(phase, Event.SIGINT, earlier_sigints=1) is Action.FORCE_EXIT
    assert react(phase, Event.SIGINT, earlier_sigints=2) is Action.FORCE_EXIT


def test_events_of_signals_and_their_codes() -> None:
    assert Event.of_signal(signal.SIGINT) is Event.SIGINT
    assert Event.of_signal(signal.SIGTERM) is Event.SIGTERM
    assert Event.of_signal(signal.SIGHUP) is Event.SIGTERM  # anything else asking us to stop
    assert [ExitCode.for_signal(signal.SIGTERM), ExitCode.for_signal(signal.SIGINT)] == [143, 130]
    assert ExitCode.for_signal(signal.SIGTERM) is ExitCode.SIGTERM
    assert ExitCode.for_signal(signal.SIGINT) is ExitCode.SIGINT
    assert exit_code(None, JobInterrupted("deadline", ExitCode.DEADLINE)) == 124
    assert [e.value for e in Event] == ["SIGTERM", "SIGINT", "deadline"]
    assert [p.value for p in Phase] == ["running", "cancelling", "teardown"]
    assert [a.value for a in Action] == ["cancel", "note", "force_exit"]
