"""Aider (PyPI `aider-chat`) in --message mode, configured as the docs show:
`OPENAI_API_BASE=<server>/v1 OPENAI_API_KEY=lx-... aider --model openai/gpt-5.2`.

The flags around it keep the run non-interactive and offline, as anyone scripting
aider would: no git, no update check, no analytics, no release notes. The model
metadata file is what aider's docs ask users of an OpenAI-compatible endpoint to
write for a model it does not know; without it aider downloads LiteLLM's price
list from GitHub (the egress trap would catch that)."""

from __future__ import annotations

import json

import pytest

from tests.integrations.harness import (
    AIDER,
    OPENAI_MODEL,
    OPENAI_UPSTREAM_MODEL,
    gateway_log_tail,
    require,
    upstream_requests_with,
)

METADATA = {
    f"openai/{OPENAI_MODEL}": {
        "max_input_tokens": 400000,
        "max_output_tokens": 128000,
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1.75e-06,
        "output_cost_per_token": 1.4e-05,
    }
}


@pytest.mark.live
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_message_mode(stream, tool, live, upstream, key, marker):
    (tool.workdir / ".aider.model.metadata.json").write_text(json.dumps(METADATA))
    prompt = f"Hello aider {marker}"  # the stand-in echoes the first 40 characters
    run = tool.run(
        [
            require(AIDER),
            "--model",
            f"openai/{OPENAI_MODEL}",
            "--weak-model",
            f"openai/{OPENAI_MODEL}",
            "--message",
            prompt,
            "--stream" if stream else "--no-stream",
            "--yes-always",
            "--no-git",
            "--no-check-update",
            "--no-show-model-warnings",
            "--analytics-disable",
            "--no-show-release-notes",
            "--no-pretty",
            "--no-fancy-input",
        ],
        env={"OPENAI_API_BASE": live.url + "/v1", "OPENAI_API_KEY": key, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        timeout=90,
    )
    assert run.returncode == 0, run.report() + "\n--- gateway log\n" + gateway_log_tail(live)
    assert f"Echo: {prompt}" in run.stdout, run.report()
    assert "error" not in run.stdout.lower(), run.report()
    assert run.egress == [], run.report()

    seen = upstream_requests_with(upstream, marker, "/chat/completions")
    assert len(seen) == 1, seen
    body = seen[0]["body"]
    assert body["model"] == OPENAI_UPSTREAM_MODEL
    assert body.get("stream", False) is stream
    assert body["messages"][0]["role"] == "system", "aider's system prompt reached the upstream"
    # aider keeps the exchange in its chat history file, as it would for a person
    history = (tool.workdir / ".aider.chat.history.md").read_text()
    assert prompt in history and f"Echo: {prompt}" in history
