# jobframe runtime image.
#
#   docker build -t jobframe .
#   docker run --rm jobframe --job-name SomeJob
#
# The base only needs a Python >= 3.11 with the venv module. The default is the
# official slim image; CI builds on a debootstrapped Debian bookworm instead
# (--build-arg BASE_IMAGE=localhost/debian-python:bookworm), so nothing below
# assumes /usr/local/bin/python: the venv is created with `python3 -m venv`.
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

# Dependencies first, read from pyproject.toml, so that this layer is reused as
# long as the dependency list does not change.
COPY pyproject.toml ./
RUN python3 -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(d['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt

# Then the project itself (README.md is the package readme named in pyproject.toml).
COPY README.md ./
COPY jobframe/ ./jobframe/
# The installers are not needed at run time: dropping them saves ~26 MB and
# leaves nothing in the image that installs code.
RUN pip install --no-cache-dir --no-deps . \
 && python3 -m pip uninstall --yes pip setuptools

# ---------------------------------------------------------------- final stage
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

# The working directory holds the app (jobs/, the default `--app jobs:MainContainer`) and its
# profiles (config/, the default `--config-dir config`), as a checkout would. Files stay owned
# by root: the job user can read them but not change them. Smoke test: the app imports.
WORKDIR /app
COPY config/ ./config/
COPY jobs/ ./jobs/
RUN /opt/venv/bin/jobframe --list > /dev/null

USER ${APP_UID}:${APP_GID}

# jobframe is PID 1 and handles SIGTERM/SIGINT itself: no shell, no tini.
ENTRYPOINT ["/opt/venv/bin/jobframe"]
CMD ["--list"]
