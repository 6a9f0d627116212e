# Lifeboat: `just --list` shows every recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes (a bare `just` starts nothing)
default:
    @just --justfile {{justfile()}} --list

# Start everything (nats-server, API + web UI on :8000, scheduler, executor) in the foreground
up: install web
    uv run python -m scripts.devstack

# Install Python dependencies (locked) and check the client tools the executor needs
install:
    uv sync --frozen
    @for t in pg_dump pg_restore psql mysqldump mysql zstd gzip; do command -v $t >/dev/null || echo "WARNING: $t not found: the executor needs it (apt-get install postgresql-client mariadb-client zstd)"; done

# Build the web UI into the API package (skipped with a warning when npm is missing)
web:
    @if command -v npm >/dev/null; then cd web && (npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error) && npm run build; else echo "WARNING: npm not found; the UI will not be built"; fi

# Regenerate the web client's OpenAPI schema (web/src/lib/api/openapi.json) and its TypeScript types
gen-api:
    cd web && npm run gen:api

# Every test: lint, types, unit, integration (real PostgreSQL, MariaDB, nats-server) and e2e, under coverage (the services the e2e tests start included), then the coverage floors
test: install web lint types
    rm -f .coverage .coverage.*
    uv run coverage run -m pytest -q -p no:cacheprovider
    @just --justfile {{justfile()}} coverage

# Unit tests only (no I/O)
test-unit:
    uv run pytest -q -p no:cacheprovider tests/unit -m unit

# Integration tests (real PostgreSQL, MariaDB, nats-server; no whole stack)
test-int: install
    uv run pytest -q -p no:cacheprovider tests/integration -m integration

# End-to-end tests (the whole stack as `just up` runs it, and the UI in Chromium)
test-e2e: install web
    uv run pytest -q -p no:cacheprovider tests/e2e -m e2e

# Coverage of the last `just test` (HTML in data/coverage/) checked against the floors of scripts/coverage_floors.py
coverage:
    if compgen -G ".coverage.*" >/dev/null; then uv run coverage combine -q; fi
    uv run coverage report --skip-covered --sort=cover
    uv run coverage html -q -d data/coverage
    uv run coverage json -q -o data/coverage/coverage.json
    uv run python -m scripts.coverage_floors data/coverage/coverage.json

# Lint Python (ruff) and Dockerfiles (hadolint, via the test suite)
lint:
    uv run ruff check .
    uv run ruff format --check .

# Format the code
fmt:
    uv run ruff format .
    uv run ruff check --fix .

# Strict type checking
types:
    uv run pyright

# Benchmark backup/restore against the raw shell pipelines (builds ~1 GB databases once)
bench *ARGS: install
    uv run python -m scripts.bench {{ARGS}}

# Remove local state (SQLite, backups, generated keys) — destructive!
clean:
    rm -rf ./data
