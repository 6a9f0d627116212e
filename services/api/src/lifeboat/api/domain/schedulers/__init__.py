"""Scheduler status: which schedulers the API hears from (``/api/schedulers``)."""
