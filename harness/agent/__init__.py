"""The agent process: spawn it in its own process group, talk JSONL, terminate the group."""
