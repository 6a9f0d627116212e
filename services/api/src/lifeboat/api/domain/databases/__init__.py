"""The databases domain."""
