"""One package per REST resource: controller (HTTP), schemas (msgspec DTOs), service (logic)."""
