"""What crosses NATS: subject names, message types, their codec, and the bus (the only nats import)."""
