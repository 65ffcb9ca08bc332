"""``python -m jobframe``: the same entry point as the ``jobframe`` console script."""

import sys

from jobframe.cli import main

sys.exit(main())
