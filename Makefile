# Every target runs with the project venv's bin/ first on PATH: python3 on PATH may be a slow shim.
VENV ?= .venv
PY_BOOT ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	c=$$(command -v $$p 2>/dev/null) || continue; \
	$$c -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { \
	$$c -c 'import sys; print(sys.executable)'; break; }; done)
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
PYTEST_ARGS ?=

.PHONY: install lock deps-ends demo test lint fmt typecheck bench faults clean

install: $(VENV)/.installed

# Every package at the version constraints.txt names: the tests never meet a release they were
# not run with. `make lock` rewrites the file (commit it); `make deps-ends` tests the runtime
# dependencies at both ends of pyproject.toml's ranges instead (CI runs both).
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY_BOOT) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# The newest releases pyproject.toml allows, resolved in a fresh venv and frozen.
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV) && $(PY_BOOT) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	{ echo "# Written by \`make lock\` (the newest releases pyproject.toml allows); make install uses it."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf $(LOCK_VENV)

deps-ends: install
	$(BIN)/python .ci/dependency_ends.py lowest newest

demo: install
	$(BIN)/harness run suites/demo --mode replay
	$(BIN)/harness run suites/llm-demo --mode replay

lint: install
	$(BIN)/ruff check harness tests .ci
	$(BIN)/ruff format --check harness tests .ci
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

fmt: install
	$(BIN)/ruff format harness tests .ci
	$(BIN)/ruff check --fix harness tests .ci

test: install lint
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

# The whole fault-injection suite (tests/faults): hostile agents, failing tools, bad input,
# kills, a full disk, and the slow soak cases (1 GB stderr, 10,000 attempts: ~10 minutes on 2
# cores). `make test` runs all but the soak cases; FAULTS_ARGS='-m "not slow"' skips them here.
FAULTS_ARGS ?=
faults: install
	$(BIN)/python -m pytest -q tests/faults $(FAULTS_ARGS)

bench: install
	$(BIN)/python -m tests.bench.bench_replay
	$(BIN)/python -m tests.bench.bench_startup
	$(BIN)/python -m tests.bench.bench_record
	$(BIN)/python -m tests.bench.bench_cassette
	$(BIN)/python -m tests.bench.bench_persistent
	$(BIN)/python -m tests.bench.bench_framework
	$(BIN)/python -m tests.bench.bench_sweep
	$(BIN)/python -m tests.bench.bench_serve
	$(BIN)/python -m tests.bench.bench_proxy
	$(BIN)/python -m tests.bench.bench_http_servers

clean:
	rm -rf $(VENV) .venv-lowest .venv-newest $(LOCK_VENV) harness_out .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
