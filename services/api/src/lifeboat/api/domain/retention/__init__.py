"""Retention policies (SPEC §6.1.5) and the cleanup that applies them."""
