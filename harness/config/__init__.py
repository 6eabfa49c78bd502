"""Suite configuration: file schemas, loading with file:line errors, RunLedger layout."""
