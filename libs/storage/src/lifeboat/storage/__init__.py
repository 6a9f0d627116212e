"""Where artifacts live: local storage (atomic, 0600), S3, the manifest sidecar, the ``Sink``
protocol a backup streams into (and the tee that feeds several), and sweeping what dead attempts
left behind."""
