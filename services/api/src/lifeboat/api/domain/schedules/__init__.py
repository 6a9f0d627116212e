"""Backup schedules (SPEC §6.1.2) and the consumer of the scheduler's fires."""
