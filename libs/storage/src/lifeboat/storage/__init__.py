"""Where artifacts live: local storage (atomic, 0600) and the manifest sidecar."""
