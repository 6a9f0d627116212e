"""Where artifacts live: one interface (:mod:`.base`), local storage (atomic, 0600), S3 and
memory behind it, and the manifest sidecar."""
