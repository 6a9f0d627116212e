"""Parsing helpers for environment-style configuration (the mapping is passed in, never read here)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from lifeboat.core.crypto import generate_key
from lifeboat.core.errors import ConfigurationError


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """An integer variable with a lower bound."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def key_from_env_or_file(
    env: Mapping[str, str], name: str, data_dir: Path, *, create: bool
) -> tuple[str, bool]:
    """The key in `name`, or one kept in ``data_dir/.<name>`` (generated when `create`).

    Returns the key and whether it came from the file rather than the environment, so the
    caller can warn loudly.
    """
    value = env.get(name, "").strip()
    if value:
        return value, False
    path = data_dir / f".{name.lower()}"
    if path.exists():
        return path.read_text().strip(), True
    if not create:
        raise ConfigurationError(f"{name} is not set and {path} does not exist")
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another service generated it first
        return path.read_text().strip(), True
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key, True
