"""Notifications: channels (Apprise URLs and signed webhooks), the outbox and its sender."""
