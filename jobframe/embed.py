"""Running jobframe jobs from another program: load the app, choose the options, run one job.

Job authors need none of this (``import jobframe`` is theirs); tests use
:func:`jobframe.testing.run_job`, which adds captured logs and leak checks to the same run.

::

    from jobframe.embed import RunOptions, load_app, run

    result = run(load_app("myapp.container:Container"), "SendDigest", options=RunOptions(timeout=600))
    raise SystemExit(result.exit_code)
"""

from jobframe._app.discovery import App
from jobframe._app.loading import load_app
from jobframe._run import ProcessControl, RunOptions, RunResult
from jobframe._run import run_job as run
from jobframe.settings import SettingsSources, load_settings

__all__ = [
    "App",
    "ProcessControl",
    "RunOptions",
    "RunResult",
    "SettingsSources",
    "load_app",
    "load_settings",
    "run",
]


def __dir__() -> list[str]:
    return __all__
