#!/usr/bin/env python3
"""Never runs: this file is committed without its executable bit, so starting it fails."""

raise SystemExit("not_executable.py must not be executable")
