"""Vally eval specs under harness (`harness vally eval | grade | lint | compare | experiment`).

spec.py          Vally's files as structs: eval spec, .vally.yaml, harness.yaml, experiments
model.py         an eval as loading settles it (EvalSpec, Stimulus, Environment)
project.py       .vally.yaml and harness.yaml: discovery, suites, environments, executors
environments.py  environment blocks resolved and merged; graders.py: graders built
load.py          one eval spec with file:line errors; select.py: -e, --suite, --tag
lint.py          `lint`'s checks (did you mean, weights, duplicates, constraints)
executors.py     executors as agents (AgentSpec), the built-in mock
workspaces.py    each trial's workspace: git, files, skills, setup, the diff snapshot
toolbox.py       MCP servers behind harness's tool gateway (recorded, replayed)
trajectories.py  a harness attempt as a Vally trajectory; records.py: results.jsonl rows
runner.py        the trials over harness's worker pool; grade.py: grading a trajectory
tallies.py       per-stimulus statistics (pass rate, pass@k, pass^k, flaky, lost trials)
outputs.py       the run folder: results.jsonl, eval-results.md, junit, session logs, latest
regrade.py       `grade` over trial records; compare.py; experiment.py
"""
