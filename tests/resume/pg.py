"""A real PostgreSQL server for the ledger's tests: Debian's ``postgresql``, started in a temp dir.

No mock: the PostgreSQL store is tested against the server it will meet. The server listens on a
Unix socket only (no TCP port to collide with), in a data directory of its own, and is stopped at
the end of the session. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user that Debian's package creates. ``.ci/run`` installs the package; without it the
tests that need a server are skipped — unless ``JOBFRAME_REQUIRE_POSTGRES=1`` (CI), which makes a
missing server a failure.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir", "postgres_server", "stoppable_postgres"]


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (on PATH, or Debian's versioned one)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    user = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


class PostgresServer:
    """A throwaway server in a temp dir that a test may stop and start again (the same data)."""

    def __init__(self, *, fsync: bool = False) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bindir = bindir
        self.prefix, uid, gid = _as_server_user()
        self.root = Path(tempfile.mkdtemp(prefix="jobframe-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.sockets.mkdir()
        if uid is not None and gid is not None:
            for path in (self.root, self.sockets):
                os.chown(path, uid, gid)
        durability = "on" if fsync else "off"
        self.options = f"-k {self.sockets} -c listen_addresses='' -c fsync={durability} -c max_connections=50"
        self.dsn = f"postgresql:///postgres?host={self.sockets}&user=postgres"
        self._run(str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, *args], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.root
        )

    def start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self.options,
            "-l", str(self.root / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as if it crashed; ``fast``: as a restart would)."""
        subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_server(*, fsync: bool = False) -> Iterator[str]:
    """Start a throwaway server; yields a DSN (Unix socket) for the ``postgres`` database.

    ``fsync=off`` by default (tests: speed); the benchmark turns it on to measure what a real
    server's commits cost."""
    with stoppable_postgres(fsync=fsync) as server:
        yield server.dsn


@contextmanager
def stoppable_postgres(*, fsync: bool = False) -> Iterator[PostgresServer]:
    """A started :class:`PostgresServer`, removed at the end."""
    server = PostgresServer(fsync=fsync)
    try:
        server.start()
        yield server
    finally:
        server.remove()
