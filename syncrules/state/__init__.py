"""Saved engine state (SQLite) for previews that carry on across runs."""
