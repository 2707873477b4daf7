"""Integration tests: the real third-party clients the docs name, run against the
live gateway exactly as the docs configure them.

The tools are installed by `make tools`: the Node packages in
tests/integrations/node_modules (package.json + package-lock.json), the Python
tools in .venv-tools (requirements-tools.txt). A missing tool FAILS its test;
LUMYX_SKIP_INTEGRATIONS=1 skips this whole directory instead.

Every tool runs in a clean environment (none of the developer's OPENAI_* or
ANTHROPIC_* variables leak in), with an empty temporary HOME and working
directory, and with every proxy variable pointing at the egress trap: a local
proxy that refuses and records any attempt to reach a host other than this
machine, so no test contacts the internet and a tool that tries is seen."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.integrations.harness import EgressTrap, ToolRunner


@pytest.fixture(autouse=True)
def _integrations_switch():
    if os.environ.get("LUMYX_SKIP_INTEGRATIONS") == "1":
        pytest.skip("LUMYX_SKIP_INTEGRATIONS=1")


@pytest.fixture(scope="session")
def egress_trap():
    trap = EgressTrap()
    yield trap
    trap.close()


@pytest.fixture
def tool(tmp_path, egress_trap):
    """Runs a tool as a user would: clean env, empty HOME, an empty project dir."""
    return ToolRunner(tmp_path, egress_trap)


@pytest.fixture
def marker():
    """A word no other request carries, to find this test's requests upstream."""
    return "lx" + uuid.uuid4().hex[:10]
