"""System logs: the API's bounded window of its own and the shipped log lines (``/api/logs``)."""
