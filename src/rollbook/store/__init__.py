"""Storage: tables, repositories (every query lives here), engine and migrations."""
