"""The run directory on disk: atomic whole-file writes and appended lines."""
