"""How the upstream stand-ins call tools (tests/fakes/agent_tools.py): the rules
themselves, and the Chat Completions and Messages stand-ins, run as a real server,
picking and filling calls of a coding agent's tools as a gateway offers them to a
function-only upstream (Codex's `exec_command`, its free-form `apply_patch` as a
function with one string parameter `input`, a namespace tool as `<ns>__<name>`)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.fakes import agent_tools
from tests.fakes.upstream_core import DEFAULT_KEY

EXEC = {
    "name": "exec_command",
    "description": "Runs a command.",
    "parameters": {
        "type": "object",
        "properties": {
            "cmd": {"type": "string"},
            "workdir": {"type": "string"},
            "yield_time_ms": {"type": "number"},
        },
        "required": ["cmd"],
        "additionalProperties": False,
    },
}
PATCH = {
    "name": "apply_patch",
    "description": "Edit files with a patch.",
    "parameters": {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]},
}
SPAWN = {
    "name": "multi_agent_v1__spawn_agent",
    "description": "Start a sub-agent.",
    "parameters": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
}
TOOLS = [EXEC, PATCH, SPAWN]


def patch_for(name: str, snippet: str) -> str:
    return f"*** Begin Patch\n*** Add File: {name}\n+Echo: {snippet}\n*** End Patch\n"


# --------------------------------------------------------------------------- the rules


def test_pick_the_named_tool_else_the_first():
    tools = [agent_tools.tool(t["name"], t["parameters"]) for t in TOOLS]
    names = [t["name"] for t in agent_tools.pick(tools, "Say hello", False)]
    assert names == ["exec_command"]
    assert [t["name"] for t in agent_tools.pick(tools, "Create a.txt with apply_patch", False)] == ["apply_patch"]
    # a name counts as a whole word only
    assert [t["name"] for t in agent_tools.pick(tools, "my_apply_patches", False)] == ["exec_command"]
    assert [t["name"] for t in agent_tools.pick(tools, "apply_patch, in parallel", True)] == [
        "apply_patch",
        "exec_command",
    ]
    assert [t["name"] for t in agent_tools.pick(tools, "apply_patch, in parallel", False)] == ["apply_patch"]


def test_fills():
    shell = agent_tools.tool("exec_command", EXEC["parameters"])
    assert agent_tools.is_shell(shell) and agent_tools.is_shell(
        agent_tools.tool("Bash", {"properties": {"command": {}}})
    )
    assert not agent_tools.is_shell(agent_tools.tool("lookup", {"properties": {"q": {}}}))
    assert agent_tools.function_arguments(shell, "Say hello", "Say hello") == {"cmd": "echo 'Echo: Say hello'"}
    assert agent_tools.function_arguments(shell, "Run `ls -la` now", "Run `ls -la` now") == {"cmd": "ls -la"}
    array_shell = agent_tools.tool("shell", {"properties": {"command": {"type": "array"}}, "required": ["command"]})
    assert agent_tools.function_arguments(array_shell, "`pwd`", "`pwd`") == {"command": ["bash", "-lc", "pwd"]}
    text = "Write docs/notes.md with apply_patch"
    assert agent_tools.function_arguments(agent_tools.tool("apply_patch", PATCH["parameters"]), text, "s") == {
        "input": patch_for("docs/notes.md", "s")
    }
    assert agent_tools.call_for(agent_tools.tool("apply_patch", kind="custom"), "no file", "s") == (
        "custom_tool_call",
        "apply_patch",
        patch_for("hello.txt", "s"),
    )
    lookup = agent_tools.tool("lookup", {"type": "object", "properties": {"q": {"type": "string"}}})
    assert agent_tools.call_for(lookup, "Find it", "Find it") == ("function_call", "lookup", '{"q":"Find it"}')
    assert agent_tools.function_arguments(agent_tools.tool("noargs"), "x", "x") == {}


# --------------------------------------------------------------------------- Chat Completions stand-in


def chat(upstream, prompt, tools=TOOLS, stream=False, **extra) -> list[tuple[str, dict]]:
    """(name, arguments) of the tool calls the chat stand-in answers with."""
    body = {
        "model": "gpt-5",
        "messages": [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": prompt}],
        "tools": [{"type": "function", "function": t} for t in tools],
        "stream": stream,
        **extra,
    }
    r = requests.post(
        upstream.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {DEFAULT_KEY}"}, timeout=10
    )
    assert r.status_code == 200, r.text
    if not stream:
        calls = r.json()["choices"][0]["message"]["tool_calls"]
        return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]
    calls: dict[int, list] = {}
    for line in r.text.splitlines():
        if not line.startswith("data: {"):
            continue
        for tc in json.loads(line[6:])["choices"][0]["delta"].get("tool_calls") or ():
            entry = calls.setdefault(tc["index"], ["", ""])
            entry[0] += tc.get("function", {}).get("name") or ""
            entry[1] += tc.get("function", {}).get("arguments") or ""
    return [(name, json.loads(args)) for name, args in (calls[i] for i in sorted(calls))]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_chat_standin_calls_coding_agent_tools(upstream, stream):
    assert chat(upstream, "Say hello", stream=stream) == [("exec_command", {"cmd": "echo 'Echo: Say hello'"})]
    assert chat(upstream, "Run `ls -la` and report", stream=stream) == [("exec_command", {"cmd": "ls -la"})]
    prompt = "Create notes.txt with apply_patch"
    assert chat(upstream, prompt, stream=stream) == [("apply_patch", {"input": patch_for("notes.txt", prompt)})]
    prompt = "Ask multi_agent_v1__spawn_agent"
    assert chat(upstream, prompt, stream=stream) == [("multi_agent_v1__spawn_agent", {"message": prompt})]


def test_chat_standin_keeps_first_tool_and_forced_choice(upstream):
    lookup = {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}
    # no tool named: the first one, whatever comes after it
    assert chat(upstream, "Find my order", [lookup, EXEC]) == [("lookup", {"q": "Find my order"})]
    # tool_choice wins over the name in the prompt
    forced = {"type": "function", "function": {"name": "lookup"}}
    assert chat(upstream, "use exec_command", [lookup, EXEC], tool_choice=forced) == [
        ("lookup", {"q": "use exec_command"})
    ]
    assert chat(upstream, "apply_patch a.txt, in parallel") == [
        ("apply_patch", {"input": patch_for("a.txt", "apply_patch a.txt, in parallel")}),
        ("exec_command", {"cmd": "echo 'Echo: apply_patch a.txt, in parallel'"}),
    ]


# --------------------------------------------------------------------------- Messages stand-in


def messages(upstream, prompt, tools=TOOLS, stream=False, **extra) -> list:
    """The content blocks of the Messages stand-in's answer (tool_use input as an object)."""
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 2048,
        "system": "You are an agent.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        "tools": [{"name": t["name"], "description": t["description"], "input_schema": t["parameters"]} for t in tools],
        "stream": stream,
        **extra,
    }
    headers = {"x-api-key": DEFAULT_KEY, "anthropic-version": "2023-06-01"}
    r = requests.post(upstream.url + "/v1/messages", json=body, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    if not stream:
        return r.json()["content"]
    blocks: list = []
    partial: dict[int, str] = {}
    for line in r.text.splitlines():
        if not line.startswith("data: "):
            continue
        ev = json.loads(line[6:])
        if ev["type"] == "content_block_start":
            blocks.append(dict(ev["content_block"]))
        elif ev["type"] == "content_block_delta":
            d, blk = ev["delta"], blocks[ev["index"]]
            if d["type"] == "text_delta":
                blk["text"] += d["text"]
            elif d["type"] == "input_json_delta":
                partial[ev["index"]] = partial.get(ev["index"], "") + d["partial_json"]
            elif d["type"] == "thinking_delta":
                blk["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                blk["signature"] = d["signature"]
    for i, js in partial.items():
        blocks[i]["input"] = json.loads(js)
    return blocks


def uses(blocks) -> list[tuple[str, dict]]:
    return [(b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_messages_standin_calls_coding_agent_tools(upstream, stream):
    blocks = messages(upstream, "Say hello", stream=stream)
    assert blocks[0] == {"type": "text", "text": "I'll use the exec_command tool."}
    assert uses(blocks) == [("exec_command", {"cmd": "echo 'Echo: Say hello'"})]
    assert uses(messages(upstream, "Run `uname -a` please", stream=stream)) == [("exec_command", {"cmd": "uname -a"})]
    prompt = "Create notes.txt with apply_patch"
    blocks = messages(upstream, prompt, stream=stream)
    assert blocks[0]["text"] == "I'll use the apply_patch tool."
    assert uses(blocks) == [("apply_patch", {"input": patch_for("notes.txt", prompt)})]
    prompt = "Ask multi_agent_v1__spawn_agent"
    assert uses(messages(upstream, prompt, stream=stream)) == [("multi_agent_v1__spawn_agent", {"message": prompt})]


def test_messages_standin_with_thinking_keeps_thinking_first(upstream):
    thinking = {"type": "enabled", "budget_tokens": 1024}
    blocks = messages(upstream, "Create notes.txt with apply_patch", stream=True, thinking=thinking)
    assert [b["type"] for b in blocks] == ["thinking", "text", "tool_use"]
    assert blocks[0]["signature"] and uses(blocks)[0][0] == "apply_patch"


def test_messages_standin_keeps_first_tool_and_forced_choice(upstream):
    lookup = {"name": "lookup", "description": "Find.", "parameters": {"type": "object", "properties": {}}}
    assert uses(messages(upstream, "Find my order", [lookup, EXEC])) == [("lookup", {})]
    forced = {"type": "tool", "name": "lookup"}
    blocks = messages(upstream, "use exec_command", [lookup, EXEC], tool_choice=forced)
    assert [b["type"] for b in blocks] == ["tool_use"] and uses(blocks) == [("lookup", {})]
    parallel = messages(upstream, "apply_patch b.md, in parallel")
    assert [name for name, _ in uses(parallel)] == ["apply_patch", "exec_command"]
    no_parallel = {"type": "auto", "disable_parallel_tool_use": True}
    assert len(uses(messages(upstream, "apply_patch b.md, in parallel", tool_choice=no_parallel))) == 1
