"""The scheduler service: turns enabled schedules into "schedule fired" messages."""
