# syntax=docker/dockerfile:1.7
# Lifeboat executor: pulls backup/restore jobs from one queue and runs the dump tools.
# Stateless; scale it out (compose `deploy.replicas`, or one per database network with its own
# EXECUTOR_QUEUE). Build from the repository root:
#   docker build -f deploy/executor.Dockerfile -t lifeboat-executor .

FROM python:3.11-slim-bookworm AS builder
# The same uv minor that writes uv.lock (lock revision 5 needs a recent uv to read).
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app
# uv needs every workspace member's pyproject.toml; it installs only lifeboat-executor's closure.
COPY pyproject.toml uv.lock ./
COPY libs/core/pyproject.toml libs/core/
COPY libs/wire/pyproject.toml libs/wire/
COPY libs/engines/pyproject.toml libs/engines/
COPY libs/storage/pyproject.toml libs/storage/
COPY libs/policy/pyproject.toml libs/policy/
COPY services/api/pyproject.toml services/api/
COPY services/scheduler/pyproject.toml services/scheduler/
COPY services/executor/pyproject.toml services/executor/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package lifeboat-executor
COPY libs/ libs/
COPY services/executor/ services/executor/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package lifeboat-executor

FROM python:3.11-slim-bookworm AS runtime
# pg_dump refuses to dump a server newer than itself and dumps older ones fine, so the client
# comes from the PostgreSQL project's apt repository (PGDG) at the newest supported major rather
# than Debian's 15. mariadb-client provides mysqldump/mysql (they dump MySQL 5.7/8 servers too).
ARG PG_MAJOR=17
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d -m 0755 /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
       https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && . /etc/os-release \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
       "postgresql-client-${PG_MAJOR}" \
       mariadb-client \
       zstd \
       gzip \
       pigz \
    && apt-get purge -y --auto-remove curl \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH" \
    DATA_DIR=/app/data \
    BACKUP_STORAGE_PATH=/app/data/backups \
    EXECUTOR_QUEUE=default
RUN groupadd --system --gid 10001 lifeboat \
    && useradd --system --uid 10001 --gid lifeboat --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin lifeboat \
    && mkdir -p /app/data/backups \
    && chown -R lifeboat:lifeboat /app/data \
    && chmod 0750 /app/data
WORKDIR /app
COPY --from=builder /app /app
USER 10001:10001
# No VOLUME: an executor keeps no state; compose mounts the shared backup volume at
# /app/data/backups, and anything else under /app/data is scratch space.
# SIGTERM makes the executor stop taking jobs and finish or cleanly fail the ones it holds;
# give it time before SIGKILL (compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "lifeboat.executor"]
