"""The app and its jobs: which container, which job, with which parameters, wired how.

``loading`` imports ``MODULE:ATTR``; ``discovery`` finds the job factories and picks one by name;
``spec`` normalises a job class into a :class:`JobSpec`; ``params`` turns ``--param`` pairs into
its model; ``check`` validates the wiring without building anything; ``graph`` walks providers.
"""

from jobframe._app.discovery import App, JobEntry
from jobframe._app.loading import DEFAULT_APP, load_app
from jobframe._app.spec import JobSpec, job

__all__ = ["DEFAULT_APP", "App", "JobEntry", "JobSpec", "job", "load_app"]
