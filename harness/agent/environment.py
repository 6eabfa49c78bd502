"""The environment an agent starts with: inherited (RunLedger's behaviour), or an allowlist.

By default the agent inherits the harness's environment, as under RunLedger, minus the
variables the suite names as the live tools' credentials (`${NAME}` in a tool's `headers_env`
or `env`, or an MCP server's `env`): those belong to the tools, which harness calls itself,
never to the agent. (`redact.env` is not among them: it often names the agent's own model key,
which the agent needs and harness only keeps out of what it writes.)

With `agent_env_allow: [...]` in suite.yaml only the listed variables reach the agent;
`--clean-env` on a suite without that list keeps a minimal set (CLEAN_ENV). In every case
`agent_env` values are added last, and a tool credential reaches the agent only if the suite
lists it in `agent_env_allow` or sets it in `agent_env`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from harness.config.schema import CommandToolSpec, HttpToolSpec, Suite

# What a program needs to start and behave normally: find executables, a home, a locale, a
# temporary directory, the time zone.
CLEAN_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "TERM",
    "SYSTEMROOT",
)

_TEMPLATE_NAME = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def tool_credentials(suite: Suite) -> frozenset[str]:
    """Environment variable names the suite hands to its live tools."""
    templates: list[str] = []
    for tool in suite.tools.values():
        if isinstance(tool, HttpToolSpec):
            templates.extend(tool.headers_env.values())
        elif isinstance(tool, CommandToolSpec):
            templates.extend(tool.env.values())
    for server in suite.mcp_servers.values():
        templates.extend(server.env.values())
    return frozenset(name for text in templates for name in _TEMPLATE_NAME.findall(text))


def agent_environment(
    suite: Suite, *, clean: bool = False, environ: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """The agent's environment, or None to inherit the harness's own unchanged (cheapest)."""
    environ = os.environ if environ is None else environ
    allow = suite.agent_env_allow
    if allow is None and clean:
        allow = CLEAN_ENV
    credentials = tool_credentials(suite)
    if allow is not None:
        base = {name: environ[name] for name in allow if name in environ}
    elif credentials & environ.keys():
        base = {name: value for name, value in environ.items() if name not in credentials}
    elif suite.agent_env:
        base = dict(environ)
    else:
        return None
    return {**base, **suite.agent_env}
