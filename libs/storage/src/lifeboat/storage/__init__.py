"""Where artifacts live: one interface (:mod:`.base`) with local storage (atomic, 0600), S3 and
memory behind it, the manifest sidecar, the ``Sink`` protocol a backup streams into (and the tee
that feeds several), and sweeping what dead attempts left behind."""
