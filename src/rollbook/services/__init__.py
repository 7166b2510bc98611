"""Use cases of the rostering tools. They take a session and keyword arguments; never commit."""
