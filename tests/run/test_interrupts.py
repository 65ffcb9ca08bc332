"""Interrupts: the signal a job's own handler took, and the wake-up that tells the main thread.

The supervisor reads one byte per signal and wakes the main thread to reclaim it: a signal a
handler of the job's took (one installed past jobframe's guard) still cancels the job. The
wake-up can be run nested inside jobframe's own handler answering that same signal — even at its
first instruction, before the job's chained handler ran or anything was logged. Cancelling there
would skip the job's handler the docs promise is called first, and ``signal.received``.
"""

from __future__ import annotations

import sys
from types import FrameType

import pytest

from jobframe._run.interrupts import Interrupts
from jobframe._run.reactions import Phase
from jobframe.deadline import Schedule
from jobframe.errors import JobInterrupted
from jobframe.exit_codes import ExitCode


def _took_a_sigterm() -> Interrupts:
    interrupts = Interrupts(Schedule(None))
    interrupts._foreign = JobInterrupted("SIGTERM", ExitCode.SIGTERM)  # as _on_delivered notes it
    return interrupts


def test_a_signal_no_jobframe_handler_answers_cancels_the_job() -> None:
    interrupts = _took_a_sigterm()
    with pytest.raises(JobInterrupted) as raised:
        interrupts._reclaim(sys._getframe())
    assert raised.value.exit_code == ExitCode.SIGTERM
    assert interrupts.phase is Phase.CANCELLING


@pytest.mark.parametrize("depth", [0, 1, 2], ids=["at-its-entry", "one-call-down", "two-calls-down"])
def test_the_wake_up_nested_in_jobframes_own_handler_leaves_the_answer_to_it(depth: int) -> None:
    interrupts = _took_a_sigterm()
    seen: list[Phase] = []

    def nested(level: int) -> FrameType:
        return sys._getframe() if level == 1 else nested(level - 1)

    def answer(signum: int, frame: FrameType | None) -> None:
        # depth 0: the wake-up ran at the entry of _on_signal (its frame is the interrupted one)
        interrupted = sys._getframe(1) if depth == 0 else nested(depth)
        interrupts._reclaim(interrupted)
        seen.append(interrupts.phase)

    interrupts._answer = answer  # type: ignore[method-assign]
    interrupts._on_signal(15, None)
    assert seen == [Phase.RUNNING]
    assert interrupts.reason is None
