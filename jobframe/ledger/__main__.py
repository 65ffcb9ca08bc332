"""``python -m jobframe.ledger``: see :mod:`jobframe.ledger.cli`."""

import sys

from jobframe.ledger.cli import main

sys.exit(main())
