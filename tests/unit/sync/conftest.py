"""Fixtures of the sync tests; the helpers themselves live in sync_kit.py."""

from sync_kit import build

__all__ = ["build"]
