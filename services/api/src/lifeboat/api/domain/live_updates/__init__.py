"""Live updates: the Server-Sent Events stream of execution updates for the UI."""
