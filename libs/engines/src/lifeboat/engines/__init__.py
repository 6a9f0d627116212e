"""Dump engines: PostgreSQL and MySQL/MariaDB command lines, credential files, child processes,
and the streaming backup/restore pipelines. No module here reads the environment."""
