"""Where :class:`Counted` and :class:`Progress` used to live; import them from ``jobframe``.

Kept so that job code written as ``from jobframe.progress import Counted`` keeps working. The
reporter and the operation tracker live in :mod:`jobframe.observe.progress`, reached through the
run's :class:`~jobframe.observe.Observer`; :class:`Counted` in ``jobframe._counted``.
"""

from jobframe._counted import Counted
from jobframe.observe.progress import Progress, Tracker

__all__ = ["Counted", "Progress", "Tracker"]
