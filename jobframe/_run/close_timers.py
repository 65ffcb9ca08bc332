"""The timer that bounds each close of a run's teardown: :class:`CloseTimers`.

It is the :class:`~jobframe._teardown.closing.TeardownTimer` of a run that handles signals: a sync
close running past its limit gets :class:`~jobframe._teardown.closing.TeardownTimeout` raised into
it in the main thread, by the supervisor's wake-up. Each close is armed under a generation of its
own (:class:`~jobframe._run.timers.CloseTimer`), so a timer already on its way for a close that
returned raises nothing into the next one.
"""

from __future__ import annotations

from jobframe._run.handlers import Handlers
from jobframe._run.timers import CloseTimer
from jobframe._teardown.closing import TeardownTimeout

__all__ = ["CloseTimers"]


class CloseTimers:
    """One generation per close; only the armed one fires."""

    def __init__(self, handlers: Handlers) -> None:
        self._handlers = handlers
        self._armed: int | None = None
        self._generation = 0

    def arm_teardown(self, timeout: float) -> None:
        """Raise :class:`TeardownTimeout` into the close running ``timeout`` seconds from now."""
        supervisor = self._handlers.supervisor
        if supervisor is not None and self._handlers.installed:
            self._generation += 1
            self._armed = self._generation
            supervisor.after(CloseTimer(self._generation), timeout)

    def disarm(self) -> None:
        """The close returned: its timer, even one already on its way, raises nothing any more."""
        armed, self._armed = self._armed, None
        supervisor = self._handlers.supervisor
        if supervisor is not None and armed is not None:
            supervisor.cancel(CloseTimer(armed))

    def fire(self, timer: CloseTimer) -> None:
        """Main thread, in teardown: ``timer`` is due; raise into the close if it is still armed."""
        if timer.generation == self._armed:
            self._armed = None
            raise TeardownTimeout()
