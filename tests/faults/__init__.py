"""Faults injected from outside: hostile agents, failing tools, bad input, kills, a full disk."""
