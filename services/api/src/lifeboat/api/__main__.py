"""``python -m lifeboat.api``: settings from the environment, logging, uvicorn."""

from __future__ import annotations

import os

import uvicorn

from lifeboat.api.app import create_app
from lifeboat.api.settings import Settings
from lifeboat.core.logs import setup_logging


def main() -> None:
    """Run the API service until interrupted."""
    setup_logging(os.environ.get("LOG_LEVEL", "INFO"), "api")
    settings = Settings.from_env(os.environ)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
