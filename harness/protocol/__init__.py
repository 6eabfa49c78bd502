"""The agent protocol: newline-delimited JSON messages over the agent's stdin and stdout."""
