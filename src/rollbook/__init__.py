"""rollbook: a school district's roster, where the SIS sync and hand edits live together."""

__version__ = "0.1.0"
