"""``python -m lifeboat.executor``: read settings from the environment and run."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from lifeboat.core.errors import ConfigurationError, UnavailableError
from lifeboat.core.logs import setup_logging
from lifeboat.executor.settings import Settings
from lifeboat.executor.worker import serve


def main() -> int:
    """Entry point; returns the process exit status."""
    try:
        settings = Settings.from_env(os.environ)
    except ConfigurationError as exc:
        print(f"lifeboat executor: {exc.message}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, "executor")
    if settings.seal_key_from_file:
        logging.getLogger("lifeboat.executor").warning(
            "EXECUTOR_SEAL_KEY is not set: using the key kept in %s/.executor_seal_key;"
            " the API must use the same key",
            settings.data_dir,
        )
    try:
        asyncio.run(serve(settings, os.environ))
    except UnavailableError as exc:
        logging.getLogger("lifeboat.executor").error("%s", exc.message)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
