"""S3 artifact storage for any S3-compatible endpoint (AWS, MinIO, R2, B2, Ceph...).

A pure library: every setting comes in through :class:`~lifeboat.storage.s3.settings.S3Settings`;
nothing here reads the environment. Import each name from the module that owns it:

- :mod:`.settings`: ``S3Settings`` and its validation, size units, part limits, object metadata.
- :mod:`.errors`: reading boto answers, error codes, retry classification.
- :mod:`.results`: what the store answers (object info, listings, uploads, access report).
- :mod:`.client`: ``S3Client``, the connection pool and every request with its retries.
- :mod:`.store`: ``S3Store``, objects, manifests, listings, unfinished uploads, probes.
- :mod:`.multipart`: ``S3Sink``, the streaming multipart upload, and its part sizing.
- :mod:`.artifacts`: ``S3ArtifactStore``, the bucket as an artifact store (the interface of
  :mod:`lifeboat.storage.base`).
"""
