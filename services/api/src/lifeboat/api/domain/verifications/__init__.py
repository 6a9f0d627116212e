"""Verification restores: a backup restored into a scratch database and its census compared."""
