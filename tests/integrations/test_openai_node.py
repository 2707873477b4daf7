"""The OpenAI Node.js SDK (npm `openai`), as the docs show it:
`new OpenAI({ baseURL: "<server>/v1", apiKey: "lx-..." })`, then
`client.chat.completions.create(...)`, streamed chunk by chunk and whole; on a
model behind an OpenAI-format upstream and one behind an Anthropic-format upstream
(the gateway translates). It runs on Node.js 22 (the SDK requires >= 22)."""

from __future__ import annotations

import json

import pytest

from tests.integrations.harness import (
    ANTHROPIC_MODEL,
    CLIENTS,
    NODE,
    OPENAI_MODEL,
    gateway_log_tail,
    require,
    upstream_model,
    upstream_path,
    upstream_requests_with,
)

MODELS = [pytest.param(OPENAI_MODEL, id="openai-upstream"), pytest.param(ANTHROPIC_MODEL, id="anthropic-upstream")]


@pytest.mark.live
@pytest.mark.parametrize("mode", ["stream", "whole"])
@pytest.mark.parametrize("model", MODELS)
def test_chat_completion(model, mode, tool, live, upstream, key, marker):
    prompt = f"Hello from Node {marker}"
    run = tool.run(
        [require(NODE), CLIENTS / "openai_node.mjs", mode],
        env={"LUMYX_BASE_URL": live.url + "/v1", "LUMYX_API_KEY": key, "LUMYX_MODEL": model, "LUMYX_PROMPT": prompt},
        timeout=60,
    )
    assert run.returncode == 0, run.report() + "\n--- gateway log\n" + gateway_log_tail(live)
    assert run.stdout.strip() == f"Echo: {prompt}", run.report()
    assert run.egress == [], run.report()

    seen = upstream_requests_with(upstream, marker, upstream_path(model))
    assert len(seen) == 1, seen
    assert seen[0]["body"]["model"] == upstream_model(model)
    assert seen[0]["body"].get("stream", False) is (mode == "stream")
    if mode == "whole":
        summary = json.loads(run.stderr.strip().splitlines()[-1])
        assert summary["model"] == model
        assert summary["finish_reason"] == "stop"
        assert (
            summary["usage"]["total_tokens"]
            == summary["usage"]["prompt_tokens"] + summary["usage"]["completion_tokens"]
            > 0
        )
