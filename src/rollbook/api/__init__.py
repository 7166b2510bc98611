"""The JSON API under /api/v1 (interfaces.md "REST API")."""
