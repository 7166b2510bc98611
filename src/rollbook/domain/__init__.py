"""The rules of rollbook, pure: no database, no web framework."""
