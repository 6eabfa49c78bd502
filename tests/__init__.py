"""harness's tests: unit/ (one file a module), e2e/ (one file a feature), faults/ (hostile
agents, failing tools, kills, full disks); what they share is in support/."""
