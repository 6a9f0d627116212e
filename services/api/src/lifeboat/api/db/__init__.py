"""SQLite persistence of the API: models, engine and sessions, Alembic migrations."""
