"""The command line: typer commands; the only place an error becomes an exit code."""
