"""`python -m lifeboat.scheduler`."""

from __future__ import annotations

import asyncio
import os

from lifeboat.core.logs import setup_logging
from lifeboat.scheduler.loop import run
from lifeboat.scheduler.settings import SchedulerSettings


def main() -> None:
    """Run the scheduler until SIGTERM."""
    settings = SchedulerSettings.from_env(os.environ)
    setup_logging(settings.log_level, "scheduler")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
