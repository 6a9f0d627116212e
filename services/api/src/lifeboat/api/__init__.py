"""The Lifeboat API service: REST API, executor events consumer, external trigger, SPA host."""
