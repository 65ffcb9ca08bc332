# jobframe images, three stages:
#
#   docker build -t jobframe-example .                     # the default: this repository's app
#   docker run --rm jobframe-example --job-name SomeJob
#   docker build --target runtime -t jobframe:0.1.0 .      # jobframe alone: apps build FROM it
#
# Dependencies are installed at the exact versions and hashes of requirements.lock (refresh with
# `bash .ci/lock`; CI checks it matches pyproject.toml), so the same commit builds the same image.
# The base only needs a Python 3.11 with the venv module. The default is the official slim
# image; CI builds on a debootstrapped Debian bookworm instead
# (--build-arg BASE_IMAGE=localhost/debian-python:bookworm), so nothing below assumes
# /usr/local/bin/python: the venv is created with `python3 -m venv`.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${BASE_IMAGE} AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from the lock alone, so this layer is reused until the lock changes. The
# lock holds the postgres extra too (psycopg), so the run ledger's PostgreSQL store works here,
# and the metrics extra (prometheus-client), so --pushgateway works here.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock

# Then the project itself (README.md is the package readme named in pyproject.toml); `pip check`
# proves the lock holds everything jobframe requires. The installers are not needed at run
# time: dropping them saves ~26 MB and leaves nothing in the image that installs code.
COPY pyproject.toml README.md ./
COPY jobframe/ ./jobframe/
RUN pip install --no-cache-dir --no-deps . \
 && pip check \
 && python3 -m pip uninstall --yes pip setuptools

# ---------------------------------------------------------------- runtime stage
# jobframe and its dependencies, a non-root user, jobframe as PID 1. No app: an app's image is
# `FROM jobframe:<version>` plus its package and config/ in /app (see `jobframe new`).
FROM ${BASE_IMAGE} AS runtime

ARG APP_UID=10001
ARG APP_GID=10001

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --gid "${APP_GID}" jobframe \
 && useradd --no-log-init --uid "${APP_UID}" --gid "${APP_GID}" \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin jobframe

COPY --from=build /opt/venv /opt/venv

# The working directory holds the app and its profiles (config/, the default --config-dir), as
# a checkout would. Files stay owned by root: the job user can read them but not change them.
WORKDIR /app
RUN ["/opt/venv/bin/jobframe", "--version"]

USER ${APP_UID}:${APP_GID}

# jobframe is PID 1 and handles SIGTERM/SIGINT itself: no shell, no tini.
ENTRYPOINT ["/opt/venv/bin/jobframe"]
CMD ["--list"]

# ---------------------------------------------------------------- example stage (default)
# This repository's app: jobs/ (the default --app jobs:MainContainer) and its profiles.
FROM runtime AS example

ARG APP_UID=10001
ARG APP_GID=10001

COPY config/ ./config/
COPY jobs/ ./jobs/
# Compiled here, as root: the job's user may not write /app (and PYTHONDONTWRITEBYTECODE says not
# to), so without this every start compiles the app from source (about a tenth of SomeJob's
# startup: docs/benchmarks.md). jobframe and its dependencies were compiled when pip installed them.
USER 0
RUN ["/opt/venv/bin/python", "-m", "compileall", "-q", "/app/jobs"]
USER ${APP_UID}:${APP_GID}
# Smoke test: the app imports and lists its jobs.
RUN ["/opt/venv/bin/jobframe", "--list"]
