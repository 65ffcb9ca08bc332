"""``python -m jobframe`` and the ``jobframe`` command: signal handlers first, then everything else."""

from __future__ import annotations

from jobframe.process.startup import install_startup_handlers


def main() -> None:
    install_startup_handlers()
    from jobframe.cli import main as cli_main  # noqa: PLC0415 - after the handlers, on purpose

    raise SystemExit(cli_main())


if __name__ == "__main__":
    main()
