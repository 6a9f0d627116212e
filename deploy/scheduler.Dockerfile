# syntax=docker/dockerfile:1.7
# Lifeboat scheduler: stateless, publishes "schedule fired" messages; run one or more replicas.
# Build from the repository root:  docker build -f deploy/scheduler.Dockerfile -t lifeboat-scheduler .

FROM python:3.11-slim-bookworm AS builder
# The same uv minor that writes uv.lock (lock revision 5 needs a recent uv to read).
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app
# uv needs every workspace member's pyproject.toml; it installs only lifeboat-scheduler's closure.
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
    uv sync --frozen --no-dev --no-install-workspace --package lifeboat-scheduler
COPY libs/ libs/
COPY services/scheduler/ services/scheduler/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package lifeboat-scheduler

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH"
RUN groupadd --system --gid 10001 lifeboat \
    && useradd --system --uid 10001 --gid lifeboat --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin lifeboat \
    && mkdir -p /app/data \
    && chown lifeboat:lifeboat /app/data
WORKDIR /app
COPY --from=builder /app /app
USER 10001:10001
CMD ["python", "-m", "lifeboat.scheduler"]
