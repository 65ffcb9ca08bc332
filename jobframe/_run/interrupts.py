"""Signals and the run's schedule, turned into cancellation, abandonment and teardown bounds.

Handlers are installed with ``signal.signal``, never ``loop.add_signal_handler``: a Python-level
handler runs at the main thread's next instruction whatever it is doing — a ``time.sleep``, a sync
HTTP call or a CPU loop inside an ``async def`` included — while a loop's handler would wait until
the loop got control back. What a signal *means* is decided by :func:`~jobframe._run.reactions.react`.

Cancelling a sync job raises :class:`~jobframe.errors.JobInterrupted` in it. Cancelling an async
job cancels its task; if the loop does not get control back within :data:`BLOCKED_AFTER_S` the
job is blocking it, which is logged (``loop.blocked``, with where) and answered like a sync job:
``JobInterrupted`` raised into the blocking code. A job that still has not stopped after the cancel
grace is abandoned (``job.cancel_ignored``) by whoever can: the event loop when it is free, else
the supervisor thread, which closes the resources and ends the process itself.

jobframe owns SIGTERM and SIGINT while a run lasts (:mod:`jobframe._run.signal_guard`): a handler
job code installs is called first, never instead; a SIGTERM that reached one anyway still ends the
run with 143, never with success. A child the job forks gets none of this (:mod:`jobframe._run.forks`).

A handler's ``JobInterrupted`` can land where the interpreter swallows exceptions — a destructor,
an at-fork hook — and would be lost; the run's ``sys.unraisablehook`` catches it there and the
supervisor raises it again in the main thread a moment later.

:class:`Interrupts` decides; what it installs in the process and puts back is
:class:`~jobframe._run.handlers.Handlers`, how it reaches an async job's loop is
:class:`~jobframe._run.loop_binding.LoopBinding`, and the timer bounding each close of the
teardown is :class:`~jobframe._run.close_timers.CloseTimers`.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from jobframe._run.close_timers import CloseTimers
from jobframe._run.handlers import Handlers
from jobframe._run.loop_binding import LoopBinding
from jobframe._run.options import ProcessControl
from jobframe._run.reactions import Action, Event, Phase, react
from jobframe._run.signal_guard import WATCHED
from jobframe._run.supervisor import WAKE_SIGNAL, Supervisor, TimerName
from jobframe._run.timers import Claimant, CloseTimer, Stage, Timer
from jobframe.deadline import Schedule
from jobframe.errors import JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.logs import get_logger
from jobframe.stacks import stack_of

__all__ = ["BLOCKED_AFTER_S", "Interrupts"]

_log = get_logger("jobframe.interrupts")

BLOCKED_AFTER_S = 0.02
"""An event loop that has not got control back this long after a cancellation is blocked."""

HANDLER_CHECK_S = 0.25
"""How often the supervisor checks, while the job runs, that jobframe's handlers are still installed."""

ASYNC_ABANDON_SLACK_S = 0.25
"""After the cancel grace a free event loop abandons the job itself; the supervisor steps in this later."""


class Interrupts:
    """One run's phase (see :mod:`jobframe._run.reactions`), and what signals and its clock do to it."""

    def __init__(
        self,
        schedule: Schedule,
        *,
        origin: float | None = None,
        process: ProcessControl | None = None,
        on_takeover: Callable[[Stage], None] | None = None,
        outcome: Callable[[], ExitCode | None] = lambda: None,
    ) -> None:
        self.schedule = schedule
        self.origin = time.monotonic() if origin is None else origin
        self.phase = Phase.RUNNING
        self._reason: JobInterrupted | None = None
        self.cancelled_at: float | None = None
        self._outcome = outcome
        """The run's exit code once ``job.finished`` decided it (the run is its only writer)."""
        self.sigints = 0
        self._process = process
        self._on_takeover = on_takeover
        self._claimed_by: Claimant | None = None
        self._claim_lock = threading.Lock()
        self._installing = False
        self._deferred: list[int] = []
        self._raised: BaseException | None = None
        self._foreign: JobInterrupted | None = None
        self._handlers = Handlers(self._on_signal, ours=self._is_ours)
        self._binding = LoopBinding()
        self.close_timers = CloseTimers(self._handlers)
        """What bounds each close of the teardown (``closing.TeardownTimer``), while installed."""

    @property
    def reason(self) -> JobInterrupted | None:
        """What cancelled the job — a signal or the deadline — if anything did; only this object
        writes it."""
        return self._reason

    @property
    def installed(self) -> bool:
        return self._handlers.installed

    @property
    def supervisor(self) -> Supervisor | None:
        return self._handlers.supervisor

    @property
    def escaped_error(self) -> BaseException | None:
        """Async: the first exception that escaped the event loop itself (see :meth:`escaped`)."""
        return self._binding.escaped_error

    # -- installation ------------------------------------------------------------------------

    def install(self, *, is_async: bool = False) -> None:
        """Install the handlers and start the clock; only the main thread can (else: no bounds).

        An async run binds its loop and task (:meth:`bind_async`); a cancellation that arrives
        before that is applied when they are bound.
        """
        self._binding.is_async = is_async
        self._installing = True  # a signal now is answered once everything below is in place
        try:
            supervisor = self._handlers.install(self._on_due, self._on_delivered)
            if supervisor is not None:
                cancel_at = self.schedule.cancel_at
                if cancel_at is not None:
                    supervisor.at(Timer.DEADLINE, self.origin + cancel_at)
                supervisor.after(Timer.CHECK_HANDLERS, HANDLER_CHECK_S)
        finally:
            self._installing = False
        self._answer_deferred()

    def _answer_deferred(self) -> None:
        """Answer the signals that arrived while :meth:`install` ran, in order, now that the
        handlers, the supervisor thread and the timers are all in place: a cancellation raised in
        the middle of it would have left a half-installed run (a supervisor thread never started,
        handlers never given back). Each is answered; the first exception is raised after."""
        pending, self._deferred = self._deferred, []
        raised: BaseException | None = None
        for signum in pending:
            try:
                self._on_signal(signum, None)
            except BaseException as exc:  # noqa: BLE001 - raised below, once the rest is answered
                raised = raised or exc
        if raised is not None:
            raise raised

    def restore(self) -> None:
        """Stop the clock and put back the handlers that were there before the run."""
        self._handlers.restore()
        self._raised = None  # its traceback holds the job's frames

    def bind_async(
        self,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any],
        on_cancel: Callable[[], None],
        *,
        driver: asyncio.Task[Any] | None = None,
    ) -> None:
        """Async mode: a cancellation cancels ``task`` and calls ``on_cancel`` inside ``loop``.

        ``driver`` is the task that waits for the job (jobframe's own): a blocked loop is never
        answered by raising into it.
        """
        self._binding.bind(loop, task, on_cancel, driver)
        if self.phase is Phase.CANCELLING:
            self._binding.cancel_bound()

    # -- phases --------------------------------------------------------------------------------

    def claim_teardown(self, by: Claimant) -> bool:
        """Move to teardown, once: ``False`` if someone else (the supervisor) already did."""
        with self._claim_lock:
            if self._claimed_by is not None:
                return False
            self._claimed_by = by
            self.phase = Phase.TEARDOWN
        if self.supervisor is not None:
            self.supervisor.cancel(
                Timer.DEADLINE, Timer.BLOCKED, Timer.ABANDON, Timer.CHECK_HANDLERS, Timer.RECANCEL
            )
        return True

    def job_done(self) -> bool:
        """The job is over: account for any signal a foreign handler took, then claim teardown."""
        self.sync_signals()
        if self._reason is None and self._foreign is not None:
            self._reason = self._foreign
        claimed = self.claim_teardown(Claimant.JOB)
        if claimed and self.installed:
            self._handlers.guard.put_back()  # teardown runs under jobframe's handlers, whatever the job did
        return claimed

    def escaped(self, exc: BaseException) -> None:
        """Async mode: ``exc`` escaped the event loop itself — raised by a signal handler job code
        installed (``SystemExit`` from a SIGTERM handler) or a plain callback, not by a task. The
        loop is resumed; while the job runs, this cancels it with what the signal meant."""
        self.sync_signals()
        self._binding.escaped_error = self._binding.escaped_error or exc
        if self.phase is not Phase.RUNNING:
            return
        reason = self._foreign
        if reason is None and isinstance(exc, KeyboardInterrupt):
            reason = JobInterrupted("SIGINT", ExitCode.SIGINT)
        if reason is not None:
            self._cancel(JobInterrupted(reason.reason, reason.exit_code), None)
        else:
            self._binding.cancel_task()

    def exit_in_task(self, exc: BaseException) -> None:
        """Async: a task the job started (not its own task, whose outcome is its exception) raised
        ``SystemExit``/``KeyboardInterrupt``. Under ``asyncio.run`` that ends the program; here it
        ends the job: its task cancelled, and the outcome the exit itself — the code of a job ending
        itself (0, 1, 130), never a signal's reason, for no signal came."""
        if self._binding.owns(asyncio.current_task()):
            return
        self._binding.escaped_error = self._binding.escaped_error or exc
        if self.phase is Phase.RUNNING:
            self._binding.cancel_task()

    def sync_signals(self) -> None:
        """Account for every signal delivered so far, including any a job's own handler took."""
        if self.supervisor is not None and self.installed:
            self.supervisor.sync()

    def foreign_reason(self) -> JobInterrupted | None:
        """The cancellation a signal that reached a handler of the job's own stands for, if any."""
        return self._foreign

    def grace_left(self) -> float:
        """Seconds the cancelled job still has before it is abandoned."""
        if self.cancelled_at is None:
            return self.schedule.budget.cancel_grace
        elapsed = time.monotonic() - self.cancelled_at
        return max(self.schedule.cancel_grace(self.cancelled_at - self.origin) - elapsed, 0.0)

    def teardown_budget(self) -> float:
        return self.schedule.teardown_budget(time.monotonic() - self.origin)

    def start_teardown(self, budget: float) -> None:
        """Let the supervisor finish a teardown stuck past ``budget`` (a close blocked in C code)."""
        if self.supervisor is not None:
            delay = self.schedule.takeover_after(time.monotonic() - self.origin, budget)
            self.supervisor.after(Timer.TAKEOVER, delay)

    def end_teardown(self) -> None:
        if self.supervisor is not None:
            self.supervisor.cancel(Timer.TAKEOVER)

    # -- the handler (main thread) ---------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._installing:
            self._deferred.append(signum)
            return
        try:
            self._answer(signum, frame)
        except BaseException as exc:
            self._raised = exc  # jobframe's own: a job's handler this interrupted lets it through
            raise

    def _is_ours(self, exc: BaseException) -> bool:
        """Whether ``exc`` was raised by this handler (nested in a job's handler it interrupted)."""
        return exc is self._raised

    def _answer(self, signum: int, frame: FrameType | None) -> None:
        if signum == WAKE_SIGNAL:
            for name in self._handlers.due():
                self._on_timer(name, frame)
            return
        event = Event.of_signal(signum)
        earlier_sigints = self.sigints  # counted before the job's handler runs: a second SIGINT
        if event is Event.SIGINT:  # arriving inside it is the second, not the first
            self.sigints += 1
        self._handlers.guard.call_chained(signum, frame)
        action = react(self.phase, event, earlier_sigints=earlier_sigints)
        code = ExitCode.for_signal(signum)
        known = self._reason.exit_code if self._reason is not None else self._outcome()
        _log.warning(
            "signal.received",
            signal=signal.Signals(signum).name,
            phase=self.phase.value,
            exit_code=int(code if action is Action.CANCEL or known is None else known),
            action=action.value,
        )
        if action is Action.CANCEL:
            self._cancel(JobInterrupted(signal.Signals(signum).name, code), frame)
        elif action is Action.FORCE_EXIT:
            self._force_exit(signum)

    def _cancel(self, reason: JobInterrupted, frame: FrameType | None) -> None:
        self._reason = self._reason or reason
        self.phase = Phase.CANCELLING
        now = time.monotonic()
        self.cancelled_at = now
        grace = self.schedule.cancel_grace(now - self.origin)
        supervisor = self.supervisor
        if supervisor is not None:
            supervisor.cancel(Timer.DEADLINE)
        if self._binding.is_async:
            if not self._binding.cancel():
                return  # not bound yet: bind_async applies it
            if supervisor is not None:
                supervisor.after(Timer.BLOCKED, BLOCKED_AFTER_S)
                supervisor.after(Timer.ABANDON, grace + ASYNC_ABANDON_SLACK_S)
            return
        if supervisor is not None:
            supervisor.after(Timer.ABANDON, grace)
        raise self._reason

    def _force_exit(self, signum: int) -> None:
        code = ExitCode.for_signal(signum)
        if self._reason is None and self._outcome() is None:  # the first SIGINT was not answered yet
            self._reason = JobInterrupted(signal.Signals(signum).name, code)
        final = self._reason.exit_code if self._reason is not None else (self._outcome() or code)
        if self._on_takeover is not None:
            self._on_takeover(Stage.FORCE)  # job.finished is still logged, once
        if self._process is not None:
            self._process.exit_now(int(final), forced=True, phase=self.phase.value)
        raise KeyboardInterrupt  # in-process: a person at a terminal insisted

    def _on_timer(self, name: TimerName, frame: FrameType | None) -> None:
        if name is Timer.DEADLINE and self.phase is Phase.RUNNING:
            _log.warning("deadline.reached", action="cancelling job")
            self._cancel(JobInterrupted("deadline", ExitCode.DEADLINE), frame)
        elif name is Timer.BLOCKED and self.phase is Phase.CANCELLING and not self._binding.returned:
            assert self._reason is not None
            if self._binding.driver_running():
                if self.supervisor is not None:  # jobframe's own code is running, not the job's
                    self.supervisor.after(Timer.BLOCKED, BLOCKED_AFTER_S)
                return
            _log.warning(
                "loop.blocked",
                waited_s=round(time.monotonic() - (self.cancelled_at or self.origin), 3),
                where=stack_of(frame),
                hint="a blocking call inside an async job; interrupting it like a sync job",
            )
            raise JobInterrupted(self._reason.reason, self._reason.exit_code)
        elif name is Timer.RECANCEL and self.phase is Phase.CANCELLING and self._reason is not None:
            raise JobInterrupted(self._reason.reason, self._reason.exit_code)
        elif isinstance(name, CloseTimer) and self.phase is Phase.TEARDOWN:
            self.close_timers.fire(name)
        elif name is Timer.RECLAIM:
            self._reclaim(frame)
        elif name is Timer.REDELIVER:
            swallowed = self._handlers.take_swallowed()
            if swallowed is not None and self.phase is Phase.CANCELLING:
                raise swallowed

    def _reclaim(self, frame: FrameType | None) -> None:
        """Main thread: jobframe's handlers back; a signal a job's handler took cancels the job.

        Not while jobframe's own handler is answering a signal further up this stack: the wake-up
        can be run nested inside it — at its very first instruction, before it called the job's
        handler or logged anything — and the signal it is answering is the one the wake-up is
        about. That handler cancels the job itself, after the job's handler ran, as promised.
        """
        self._handlers.guard.put_back()
        foreign = self._foreign
        if foreign is not None and self.phase is Phase.RUNNING and not _answering(frame):
            self._cancel(JobInterrupted(foreign.reason, foreign.exit_code), frame)

    # -- the supervisor thread ---------------------------------------------------------------

    def _on_due(self, name: TimerName) -> None:
        if name.on_main_thread:
            self._handlers.wake_main(name)
        elif name is Timer.CHECK_HANDLERS:
            if self._handlers.guard.replaced():
                self._handlers.wake_main(Timer.RECLAIM)
            if self.phase in (Phase.RUNNING, Phase.CANCELLING) and self.supervisor is not None:
                self.supervisor.after(Timer.CHECK_HANDLERS, HANDLER_CHECK_S)
        elif name is Timer.ABANDON and self.phase is Phase.CANCELLING and self._on_takeover is not None:
            self._on_takeover(Stage.CANCEL)
        elif name is Timer.TAKEOVER and self._on_takeover is not None:
            self._on_takeover(Stage.TEARDOWN)

    def wake_main(self, name: Timer) -> None:
        """Run timer action ``name`` in the main thread at its next instruction."""
        self._handlers.wake_main(name)

    def _on_delivered(self, signum: int) -> None:
        """A signal reached *some* Python handler (one byte on the wakeup fd).

        The kernel may hand a process-directed signal to any thread, and then the main thread —
        blocked in a lock or a sleep — would run the handler only when that wait ends. So the main
        thread is always nudged with its own directed signal, which interrupts the wait. While the
        job runs, a SIGTERM or SIGINT also asks it to stop whichever handler took it: if it was
        jobframe's, the job is already cancelling and this changes nothing; if it was one the job
        installed around ``signal.signal``, this is how jobframe still hears it.
        """
        if signum not in WATCHED:
            return
        on_supervisor = self.supervisor is not None and self.supervisor.is_current
        if self.phase is Phase.RUNNING:
            if self._foreign is None:
                code = ExitCode.for_signal(signum)
                self._foreign = JobInterrupted(signal.Signals(signum).name, code)
            if on_supervisor:
                self._handlers.guard.replaced()
                self._handlers.wake_main(Timer.RECLAIM)
        elif on_supervisor:
            self._handlers.wake_main(Timer.NUDGE)


def _answering(frame: FrameType | None) -> bool:
    """Whether jobframe's signal handler is on the stack that ``frame`` belongs to."""
    while frame is not None:
        if frame.f_code is _ON_SIGNAL:
            return True
        frame = frame.f_back
    return False


_ON_SIGNAL = Interrupts._on_signal.__code__
