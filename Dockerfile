# One image for every Stormwatch service: `stormwatch pollers | detector | alerter | simulator`.
#
#   docker build -t stormwatch .
#   docker run --rm stormwatch --help
#
# Two stages: the builder resolves dependencies into a virtualenv (no compiler needed: every runtime dependency ships
# manylinux wheels for CPython 3.11), the runtime stage copies only that virtualenv and the JSON Schemas.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes, not on every code change.
# A placeholder package lets pip resolve the project's dependencies before the sources are copied.
COPY pyproject.toml ./
RUN mkdir services && touch services/__init__.py \
    && pip install . \
    && pip uninstall -y stormwatch \
    && rm -rf services build ./*.egg-info

# Then the project itself. A regular (non-editable) install: the code lives in site-packages, read-only and owned by
# root; the schemas are found through STORMWATCH_SCHEMAS_DIR (set below), migrations ship as package data.
COPY . .
RUN pip install --no-deps . \
    && python -c "import services.cli, services.shared.config"


FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="stormwatch" \
      org.opencontainers.image.description="Early warning for reputation storms" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed, unprivileged uid/gid so volume ownership is predictable across rebuilds.
ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} stormwatch \
    && useradd --system --uid ${APP_UID} --gid stormwatch --home-dir /app --no-create-home --shell /usr/sbin/nologin stormwatch \
    && mkdir -p /app /var/lib/stormwatch /etc/stormwatch \
    && chown stormwatch:stormwatch /var/lib/stormwatch

COPY --from=builder /opt/venv /opt/venv
COPY schemas /app/schemas

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STORMWATCH_SCHEMAS_DIR=/app/schemas \
    STORMWATCH_HTTP_HOST=0.0.0.0 \
    STORMWATCH_HTTP_PORT=8080 \
    STORMWATCH_LOG_FORMAT=json

WORKDIR /app
USER stormwatch:stormwatch
EXPOSE 8080
# /var/lib/stormwatch (owned by the app user) is where a service writes files, e.g. the alerter's file receiver:
# mount a volume there (docker-compose.yml does for the alerter). No VOLUME here, so other services get none.

# Slim images have no curl: ask /healthz with the standard library. Any non-2xx answer or no answer is unhealthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('STORMWATCH_HTTP_PORT', '8080') + '/healthz', timeout=4)"]

ENTRYPOINT ["stormwatch"]
CMD ["--help"]
