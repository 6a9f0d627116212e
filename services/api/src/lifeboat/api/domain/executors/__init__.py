"""The executors domain: the registry of executors, fed by their heartbeats."""
