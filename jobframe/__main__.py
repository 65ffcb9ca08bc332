"""``python -m jobframe`` and the ``jobframe`` command: signal handlers first, then everything else."""

from __future__ import annotations

import contextlib
import os
import sys

from jobframe._process.collector import pause_collector
from jobframe._process.startup import install_startup_handlers


def main() -> None:
    install_startup_handlers()
    pause_collector()  # until the app is loaded: _process/collector.py
    from jobframe._cli import main as cli_main  # noqa: PLC0415 - after the handlers, on purpose

    code = cli_main()
    # --list, --check and errors return here (a run ends the process itself). End it the same way:
    # the interpreter's own shutdown would restore default signal handlers and could be killed
    # by a signal half-way, with no documented exit code.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
