"""The backups domain."""
