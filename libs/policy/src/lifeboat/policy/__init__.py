"""Pure scheduling (cron) and retention planning: no I/O, no clock, no environment."""
