"""S3 configurations (SPEC §6.1.6) and importing backup history from manifests."""
