# syntax=docker/dockerfile:1.7
# Lifeboat API: REST API, SSE, and the web UI (built here in a node stage, served at `/`).
# Build from the repository root:  docker build -f deploy/api.Dockerfile -t lifeboat-api .

# ---- web: build the SPA into services/api/src/lifeboat/api/static --------------------------
FROM node:24-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- builder: resolve the locked environment of lifeboat-api only ---------------------------
FROM python:3.11-slim-bookworm AS builder
# The same uv minor that writes uv.lock (lock revision 5 needs a recent uv to read).
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app
# Third-party dependencies first (a layer that survives source edits). uv needs every workspace
# member's pyproject.toml to read the workspace, but installs only lifeboat-api's closure.
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
    uv sync --frozen --no-dev --no-install-workspace --package lifeboat-api
# Then our own code (installed editable: the venv points at /app/libs and /app/services).
COPY libs/ libs/
COPY services/api/ services/api/
COPY --from=web /src/services/api/src/lifeboat/api/static/ services/api/src/lifeboat/api/static/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package lifeboat-api

# ---- runtime ---------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH" \
    DATA_DIR=/app/data \
    DATABASE_PATH=/app/data/db/app.db \
    BACKUP_STORAGE_PATH=/app/data/backups \
    HOST=0.0.0.0 \
    PORT=8000
RUN groupadd --system --gid 10001 lifeboat \
    && useradd --system --uid 10001 --gid lifeboat --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin lifeboat \
    && mkdir -p /app/data/db /app/data/backups \
    && chown -R lifeboat:lifeboat /app/data \
    && chmod 0750 /app/data
WORKDIR /app
COPY --from=builder /app /app
USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health/live', timeout=4)"]
CMD ["python", "-m", "lifeboat.api"]
