"""Prometheus metrics: ``GET /metrics``, computed from the database at scrape time."""
