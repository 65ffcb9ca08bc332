"""The ``process.exit`` line: the last line a CLI run writes, whoever writes it.

Written through the logging pipeline at the end of a run (:mod:`jobframe._process.exit`) and as raw
JSON by the earliest handlers, before logging exists (:mod:`jobframe._process.startup`): both take
its level and fields from here. Standard library only, for the second.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXIT_EVENT", "exit_line"]

EXIT_EVENT = "process.exit"


def exit_line(code: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    """The line's level name and fields: a warning when a signal or a forced exit ended the
    process, else info; ``exit_code`` first."""
    level = "warning" if fields.get("forced") or fields.get("signal") else "info"
    return level, {"exit_code": int(code), **fields}
