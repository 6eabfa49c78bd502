"""Assay 5.4 compatibility: its trace files, evaluation, outputs and exit codes."""
