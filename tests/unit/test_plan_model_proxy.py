"""harness.plan.model_proxy (and the schema it checks): `model_proxy:` problems are one line
each, at their file:line, before anything starts; HARNESS_UPSTREAM_* is checked when a run is
prepared; the defaults resolve to the providers' public endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.api import RunOptions, prepare_run
from harness.config.model_proxy import ModelProxySpec
from harness.errors import ConfigError, UsageError
from harness.plan.load import load_suite
from tests.support.suites import load_errors

SUITE = """\
suite_name: s
agent_command: [python3, agent.py]
mode: replay
cases_path: cases
tool_registry: []
model_proxy:
"""


def write(root: Path, proxy: str) -> Path:
    suite = root / "s"
    (suite / "cases").mkdir(parents=True)
    (suite / "suite.yaml").write_text(SUITE + proxy)
    (suite / "cases" / "c1.yaml").write_text("id: c1\ninput: {}\n")
    return suite


def test_every_problem_is_named_at_its_line(tmp_path: Path) -> None:
    suite = write(
        tmp_path,
        "  apis: [openai, gemini, openai]\n"
        "  upstreams: {anthropic: 'https://x', openai: 'ftp://x'}\n"
        "  match: {ignore_paths: ['mistral:$.seed', '$.a[']}\n"
        "  stream_timing: {scale: 0}\n"
        "  pricing: {m: {input_usd_per_mtok: -1}}\n"
        "  timeout_ms: 0\n"
        "  retry: {attempts: 0}\n",
    )
    errors = load_errors(suite)
    expected = [
        "suite.yaml:7: model_proxy.apis[1]: unknown API 'gemini'; valid: openai, anthropic",
        "suite.yaml:7: model_proxy.apis[2]: 'openai' is listed twice",
        "suite.yaml:8: model_proxy.upstreams.anthropic: 'anthropic' is not in apis",
        "suite.yaml:8: model_proxy.upstreams.openai: must be an http:// or https:// URL",
        "suite.yaml:9: model_proxy.match.ignore_paths[0]: unknown API prefix 'mistral'",
        "suite.yaml:9: model_proxy.match.ignore_paths[1]: cannot read the path",
        "suite.yaml:10: model_proxy.stream_timing.scale: must be a number greater than 0",
        "suite.yaml:11: model_proxy.pricing.m.input_usd_per_mtok: must be 0 or more",
        "suite.yaml:12: model_proxy.timeout_ms: must be greater than 0",
        "suite.yaml:13: model_proxy.retry.attempts: must be 1 or more",
    ]
    for part in expected:
        assert any(part in line for line in errors), (part, errors)


def test_unknown_keys_and_modes_are_load_errors(tmp_path: Path) -> None:
    suite = write(tmp_path, "  stream_chunking: random\n  cache: true\n")
    errors = "\n".join(load_errors(suite))
    assert "model_proxy" in errors and "suite.yaml:" in errors


def test_defaults_and_the_upstream_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = write(tmp_path, "  apis: [anthropic]\n")
    assert load_suite(suite).model_proxy == ModelProxySpec(apis=["anthropic"])
    monkeypatch.setenv("HARNESS_UPSTREAM_ANTHROPIC_BASE_URL", "http://127.0.0.1:8/")
    prepared = prepare_run(RunOptions(suite=suite))
    assert prepared.model_proxy is not None
    assert prepared.model_proxy.upstreams["anthropic"].url("/v1/messages", "") == (
        "http://127.0.0.1:8/v1/messages"
    )
    monkeypatch.setenv("HARNESS_UPSTREAM_ANTHROPIC_BASE_URL", "not a url")
    with pytest.raises(ConfigError, match="HARNESS_UPSTREAM_ANTHROPIC_BASE_URL='not a url'"):
        prepare_run(RunOptions(suite=suite))
    with pytest.raises(UsageError, match="model_proxy runs with the local engine only"):
        prepare_run(RunOptions(suite=suite, engine="ray"))


def test_recording_from_the_providers_with_no_key_at_all_is_refused_before_any_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = write(tmp_path, "  apis: [openai, anthropic]\n")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HARNESS_UPSTREAM_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HARNESS_UPSTREAM_ANTHROPIC_BASE_URL", raising=False)
    for mode in ("record", "live"):
        with pytest.raises(UsageError, match=f"--mode {mode}: .* OPENAI_API_KEY or ANTHROPIC"):
            prepare_run(RunOptions(suite=suite, mode=mode))
    # Replay and auto need no key; one key is enough (the agent may call only that API);
    # a server of one's own may need none.
    assert prepare_run(RunOptions(suite=suite, mode="auto")).model_proxy is not None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-1")
    assert prepare_run(RunOptions(suite=suite, mode="record")).model_proxy is not None
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("HARNESS_UPSTREAM_OPENAI_BASE_URL", "http://127.0.0.1:8/v1")
    assert prepare_run(RunOptions(suite=suite, mode="record")).model_proxy is not None
