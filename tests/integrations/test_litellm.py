"""LiteLLM as a client library, as the docs show it:
`litellm.completion(model="openai/gpt-5.2", messages=[...], api_base="<server>/v1",
api_key="lx-...")`, streamed and whole. It runs in the tools venv (.venv-tools),
with LITELLM_LOCAL_MODEL_COST_MAP=True so LiteLLM reads its bundled price map
instead of fetching one."""

from __future__ import annotations

import json

import pytest

from tests.integrations.harness import (
    CLIENTS,
    OPENAI_MODEL,
    OPENAI_UPSTREAM_MODEL,
    TOOLS_PYTHON,
    gateway_log_tail,
    require,
    upstream_requests_with,
)


@pytest.mark.live
@pytest.mark.parametrize("mode", ["stream", "whole"])
def test_completion(mode, tool, live, upstream, key, marker):
    prompt = f"Hello from LiteLLM {marker}"
    run = tool.run(
        [require(TOOLS_PYTHON), CLIENTS / "litellm_client.py", mode],
        env={
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LUMYX_BASE_URL": live.url + "/v1",
            "LUMYX_API_KEY": key,
            "LUMYX_MODEL": f"openai/{OPENAI_MODEL}",
            "LUMYX_PROMPT": prompt,
        },
        timeout=60,
    )
    assert run.returncode == 0, run.report() + "\n--- gateway log\n" + gateway_log_tail(live)
    assert run.stdout.strip() == f"Echo: {prompt}", run.report()
    assert run.egress == [], run.report()

    seen = upstream_requests_with(upstream, marker, "/chat/completions")
    assert len(seen) == 1, seen
    assert seen[0]["body"]["model"] == OPENAI_UPSTREAM_MODEL
    assert seen[0]["body"].get("stream", False) is (mode == "stream")
    summary = json.loads(run.stderr.strip().splitlines()[-1])
    if mode == "stream":
        assert summary["chunks"] > 1, "the answer arrived in several chunks"
    else:
        assert summary["model"] == OPENAI_MODEL
        assert summary["finish_reason"] == "stop"
        assert (
            summary["usage"]["total_tokens"]
            == summary["usage"]["prompt_tokens"] + summary["usage"]["completion_tokens"]
            > 0
        )
