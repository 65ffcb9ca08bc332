"""An app whose import raises a ``BaseException`` that is not an ``Exception`` (a library's own
cancellation, a stray ``SystemExit``): it is not an app error jobframe reports in one line, so it
escapes the CLI.

It leaves an object whose ``__del__`` runs only if the interpreter's own shutdown frees the
modules — which comes after the shutdown restored the default SIGTERM and SIGINT handlers. There
it records ``hold shutdown`` ($LIFECYCLE_RECORD) and waits for the test's go file (``HOSTILE_GO``),
so the test can deliver a signal at exactly that point. A process that ends with ``os._exit``
never gets there.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


class Escape(BaseException):
    """Neither an ``Exception`` nor jobframe's: nothing on the way catches it."""


class _HoldsTheShutdown:
    def __del__(
        self,
        _record: str = os.environ.get("LIFECYCLE_RECORD", ""),
        _go: str = os.environ.get("HOSTILE_GO", ""),
        _open: Any = os.open,
        _write: Any = os.write,
        _close: Any = os.close,
        _stat: Any = os.stat,
        _flags: int = os.O_WRONLY | os.O_APPEND | os.O_CREAT,
        _sleep: Any = time.sleep,
    ) -> None:
        # the modules are being freed (their globals are None): only what the defaults captured works
        if _record:
            fd = _open(_record, _flags)
            _write(fd, b"hold shutdown\n")
            _close(fd)
        while _go:
            try:
                _stat(_go)
                return
            except OSError:
                _sleep(0.002)


sys._jobframe_escaping_hold = _HoldsTheShutdown()  # type: ignore[attr-defined] # freed at the very end
raise Escape("raised while the app was imported")
