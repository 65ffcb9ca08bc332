"""``python -m jobframe.argo``: render, lint and combine (see :mod:`jobframe.argo.cli`)."""

from jobframe.argo.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
