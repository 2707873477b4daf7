"""Codex CLI (npm `@openai/codex`, `codex exec`) and the OpenAI Agents SDK
(PyPI `openai-agents`) against the upstream stand-in's Responses API directly,
configured as the harness configures them for the gateway (harness.codex_config,
clients/agents_sdk.py).

These pin the ground the gateway's own Responses tests stand on: the stand-in
accepts everything the pinned clients send (strictly checked, as OpenAI checks
it), and each client completes a whole tool-using turn on it: the model asks
for a tool, the client runs it and sends the result back, the model answers.
When a client upgrade sends something new, this is where it shows first."""

from __future__ import annotations

import json

from tests.fakes.upstream_core import DEFAULT_KEY
from tests.integrations.harness import upstream_requests_with

MODEL = "lumyx-codex-test"


def turn(upstream, marker: str) -> list[dict]:
    return upstream_requests_with(upstream, marker, "/responses")


def test_codex_runs_a_command_and_round_trips_encrypted_reasoning(tool, upstream, marker):
    run = tool.codex(upstream.url + "/v1", DEFAULT_KEY, MODEL, f"Run `echo {marker}-ran` and tell me what it printed")
    assert run.returncode == 0, run.report()
    assert "Tool result: " in run.stdout and f"{marker}-ran" in run.stdout, run.report()
    assert run.egress == [], run.report()

    first, second = turn(upstream, marker)
    assert first["headers"]["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert first["headers"]["accept"] == "text/event-stream"
    body = first["body"]
    assert body["model"] == MODEL and body["stream"] is True and body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert "previous_response_id" not in body and "instructions" not in body
    names = {t.get("name") for t in body["tools"]}
    assert {"exec_command", "apply_patch"} <= names

    # stateless: the whole conversation again, with the reasoning item and its encrypted content
    kinds = [i.get("type") for i in second["body"]["input"]]
    assert kinds[-3:] == ["reasoning", "function_call", "function_call_output"]
    reasoning, call, output = second["body"]["input"][-3:]
    assert reasoning["encrypted_content"].startswith("gAAAAA")
    assert call["name"] == "exec_command" and json.loads(call["arguments"]) == {"cmd": f"echo {marker}-ran"}
    assert output["call_id"] == call["call_id"] and f"{marker}-ran" in output["output"]


def test_codex_applies_a_patch(tool, upstream, marker):
    name = f"notes-{marker}.txt"
    run = tool.codex(
        upstream.url + "/v1", DEFAULT_KEY, MODEL, f"Create {name} with apply_patch", sandbox="workspace-write"
    )
    assert run.returncode == 0, run.report()
    created = tool.workdir / name
    snippet = f"Create {name} with apply_patch"[:40].strip()
    assert created.read_text() == f"Echo: {snippet}\n"
    assert run.egress == [], run.report()
    second = turn(upstream, marker)[-1]["body"]["input"]
    call, output = second[-2:]
    assert call["type"] == "custom_tool_call" and call["name"] == "apply_patch"
    assert output["type"] == "custom_tool_call_output" and output["call_id"] == call["call_id"]
    assert "Success" in output["output"]


def test_agents_sdk_function_tool_turn(tool, upstream, marker):
    for stream in (False, True):
        prompt = f"Where is order {marker}-{int(stream)}?"
        run = tool.agents_sdk(upstream.url + "/v1", DEFAULT_KEY, "gpt-5", prompt, stream=stream, reasoning="low")
        assert run.returncode == 0, run.report()
        out = json.loads(run.stdout)
        assert out["tool_calls"] == [{"order_id": prompt}]
        assert out["final_output"] == f"Tool result: Order {prompt} shipped"
        assert out["items"] == [
            "reasoning_item",
            "tool_call_item",
            "tool_call_output_item",
            "reasoning_item",
            "message_output_item",
        ]
        first, second = turn(upstream, f"{marker}-{int(stream)}")
        assert first["headers"]["authorization"] == f"Bearer {DEFAULT_KEY}"
        assert first["body"].get("stream", False) is stream and "store" not in first["body"]
        assert first["body"]["instructions"].startswith("Answer briefly")
        # store defaults to true: the reasoning item comes back by id alone
        reasoning = second["body"]["input"][1]
        assert reasoning["type"] == "reasoning" and "encrypted_content" not in reasoning
        assert [i.get("type") for i in second["body"]["input"][2:]] == ["function_call", "function_call_output"]


def test_agents_sdk_chains_previous_response_id(tool, upstream, marker):
    prompt = f"Where is order {marker}?"
    run = tool.agents_sdk(upstream.url + "/v1", DEFAULT_KEY, "gpt-5", prompt, previous=True)
    assert run.returncode == 0, run.report()
    out = json.loads(run.stdout)
    assert out["final_output"] == f"Tool result: Order {prompt} shipped"
    assert out["second"]["final_output"] == "Tool result: Order And the next one? shipped"
    first, second = turn(upstream, marker)
    assert "previous_response_id" not in first["body"]
    assert second["body"]["previous_response_id"].startswith("resp_")
    assert [i["type"] for i in second["body"]["input"]] == ["function_call_output"]
