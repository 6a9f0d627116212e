"""The restores domain."""
