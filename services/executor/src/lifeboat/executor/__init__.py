"""The executor service: pulls backup/restore jobs for one queue, runs them, reports events."""
