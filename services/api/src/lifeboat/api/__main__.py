"""``python -m lifeboat.api``: settings from the environment, logging, uvicorn."""

from __future__ import annotations

import importlib.util
import os
import sys

import uvicorn

from lifeboat.api.app import create_app
from lifeboat.api.keyring import rotate_key
from lifeboat.api.settings import Settings
from lifeboat.core.crypto import check_key_material
from lifeboat.core.errors import ConfigurationError
from lifeboat.core.logs import setup_logging


def rotate_key_command() -> int:
    """``rotate-key``: re-encrypt stored secrets from ENCRYPTION_KEY to NEW_ENCRYPTION_KEY."""
    settings = Settings.from_env(os.environ)
    new_key = os.environ.get("NEW_ENCRYPTION_KEY", "").strip()
    if not new_key:
        print("NEW_ENCRYPTION_KEY is not set", file=sys.stderr)
        return 2
    try:
        check_key_material(new_key, name="NEW_ENCRYPTION_KEY")
        result = rotate_key(settings.database_path, settings.encryption_key, new_key)
    except ConfigurationError as exc:
        print(f"key rotation failed: {exc.message}", file=sys.stderr)
        return 1
    key_file = settings.data_dir / ".encryption_key"
    if not os.environ.get("ENCRYPTION_KEY", "").strip() and key_file.exists():
        tmp = key_file.with_suffix(".new")
        tmp.write_text(new_key + "\n")
        tmp.chmod(0o600)
        tmp.replace(key_file)
        print(f"{key_file} now holds the new key")
    else:
        print("set ENCRYPTION_KEY to the new key before the next start of the API")
    print(
        f"re-encrypted {result.secrets} secrets ({', '.join(result.columns) or 'no columns'}) "
        f"with key version {result.version}; restart the API with the new key"
    )
    return 0


def server_implementations() -> tuple[str, str]:
    """uvicorn's (loop, http): uvloop and httptools when installed, else asyncio and h11."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") is not None else "h11"
    return loop, http


def main() -> None:
    """Run the API service until interrupted (or run a command: ``rotate-key``)."""
    setup_logging(os.environ.get("LOG_LEVEL", "INFO"), "api")
    if sys.argv[1:] == ["rotate-key"]:
        raise SystemExit(rotate_key_command())
    if sys.argv[1:]:
        print("usage: python -m lifeboat.api [rotate-key]", file=sys.stderr)
        raise SystemExit(2)
    settings = Settings.from_env(os.environ)
    loop, http = server_implementations()
    uvicorn.run(
        create_app(settings),
        loop=loop,
        http=http,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
        proxy_headers=True,
        # uvicorn's access and error lines go through the root logger's handlers (format,
        # LOG_FORMAT=json, and the secret filter) set up above, not a dictConfig of its own.
        log_config=None,
    )


if __name__ == "__main__":
    main()
