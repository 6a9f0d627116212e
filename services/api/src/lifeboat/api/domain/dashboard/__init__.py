"""The dashboard's aggregates (SPEC §7.2.1)."""
