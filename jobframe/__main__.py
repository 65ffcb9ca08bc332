"""``python -m jobframe`` and the ``jobframe`` command: signal handlers first, then everything else."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

from jobframe._process.collector import pause_collector
from jobframe._process.startup import install_startup_handlers, write_exit_line
from jobframe.exit_codes import ExitCode


def main() -> None:
    install_startup_handlers()
    pause_collector()  # until the app is loaded: _process/collector.py
    try:
        from jobframe._cli import main as cli_main  # noqa: PLC0415 - after the handlers, on purpose

        code = cli_main()
    except BaseException as exc:  # noqa: BLE001 - never the interpreter's own shutdown, see below
        _take_signals_back()
        code = _escaped(exc)
    # --list, --check and errors return here (a run ends the process itself), and so does whatever
    # escaped the CLI. End it the same way: the interpreter's own shutdown restores the default
    # SIGTERM/SIGINT handlers (and then frees every module), so a signal in the middle of it would
    # kill the process by the signal's default action, with no documented exit code.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _take_signals_back() -> None:
    """The earliest handlers again: whatever escaped may have left a run's handlers in place,
    whose exception would escape this too. ``signal.signal`` first runs a pending signal's
    handler, and what that raises leaves the handler unchanged: so, again."""
    for _ in range(3):
        try:
            install_startup_handlers()
            return
        except BaseException:  # noqa: BLE001, S112 - a pending handler's exception: install again
            continue


def _escaped(exc: BaseException) -> int:
    """What escaped the CLI (a ``BaseException`` an app raised at import, a bug): its traceback on
    stderr, as the interpreter would print it, and one ``process.exit`` line; the code of a
    cancellation that escaped (``JobInterrupted``: 143, 130, 124), else 1."""
    with contextlib.suppress(Exception):
        traceback.print_exception(exc)
    code = getattr(exc, "exit_code", None)
    code = int(code) if isinstance(code, int) else int(ExitCode.FAILED)
    write_exit_line(code, phase="escaped", error_type=f"{type(exc).__module__}.{type(exc).__qualname__}")
    return code


if __name__ == "__main__":
    main()
