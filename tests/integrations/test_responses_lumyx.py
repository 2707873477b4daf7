"""Codex CLI (`codex exec`) and the OpenAI Agents SDK on the live gateway's
`POST /v1/responses`, configured as the docs configure them (base URL
`<server>/v1`, a Lumyx key), on a model of each upstream kind: Chat Completions
(`gpt-5.2`), Anthropic Messages (`lumyx-plus_v1`) and the Responses API itself
(`responses-pro`), all served by the upstream stand-in.

Each client completes whole tool turns: the upstream asks for a tool, the client
runs it and sends the result back, the upstream's answer quotes the result.
Codex offers its tools as Responses tools (`exec_command`, the free-form
`apply_patch`), stores nothing (`store: false`) and sends the whole conversation
each time, reasoning as `encrypted_content`; the Agents SDK stores (no `store`,
so true), sends reasoning items back by id alone, and with
`auto_previous_response_id` sends only the tool output and the previous
response's id: the gateway rebuilds the rest for the upstream.

The three kinds run side by side (each in its own HOME and project directory);
a failure names its kind."""

from __future__ import annotations

import json
import time

import pytest

from tests.fakes.upstream_core import signature_for
from tests.integrations.harness import (
    UPSTREAM_KINDS,
    ToolRunner,
    gateway_log_tail,
    in_parallel,
    standin_prompt,
    upstream_requests_with,
    usage_rows,
)

pytestmark = pytest.mark.live

KINDS = list(UPSTREAM_KINDS)
TAGS = {"openai": "oa", "anthropic": "an", "openai-responses": "rs"}


# --------------------------------------------------------------------------- helpers


def runner(tmp_path, trap, name: str) -> ToolRunner:
    base = tmp_path / name
    base.mkdir()
    return ToolRunner(base, trap)


def every_kind(results: dict, check) -> None:
    """check(key, result) for every key; one failure report naming each failing key."""
    problems = []
    for key, result in results.items():
        try:
            if isinstance(result, Exception):
                raise AssertionError(f"the run raised {result!r}")
            check(key, result)
        except AssertionError as exc:
            problems.append(f"===== [{key}] {exc}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def sent(upstream, kind: str, marker: str) -> list[dict]:
    """The requests the gateway sent the kind's upstream that carry the marker."""
    return upstream_requests_with(upstream, marker, UPSTREAM_KINDS[kind][1])


def report(run, live, requests_seen: list[dict]) -> str:
    return (
        run.report()
        + "\n--- gateway log\n"
        + gateway_log_tail(live)
        + f"\n--- the upstream saw {len(requests_seen)} request(s): "
        + json.dumps([{"path": r["path"], "model": (r.get("body") or {}).get("model")} for r in requests_seen])
    )


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def conversation(kind: str, body: dict) -> list[tuple]:
    """An upstream request's conversation in one shape, whatever its wire format:
    ("user"|"assistant"|"system", text), ("call", name, arguments as an object),
    ("result", text), ("reasoning", the upstream's own block or item)."""
    out: list[tuple] = []
    if kind == "openai":
        for m in body["messages"]:
            if m["role"] == "tool":
                out.append(("result", text_of(m.get("content"))))
                continue
            if m.get("content"):
                out.append((m["role"], text_of(m["content"])))
            for c in m.get("tool_calls") or ():
                out.append(("call", c["function"]["name"], json.loads(c["function"]["arguments"])))
    elif kind == "anthropic":
        for m in body["messages"]:
            content = m["content"]
            if isinstance(content, str):
                out.append((m["role"], content))
                continue
            for b in content:
                if b["type"] == "text":
                    out.append((m["role"], b["text"]))
                elif b["type"] == "tool_use":
                    out.append(("call", b["name"], b["input"]))
                elif b["type"] == "tool_result":
                    out.append(("result", text_of(b.get("content"))))
                elif b["type"] in ("thinking", "redacted_thinking"):
                    out.append(("reasoning", b))
    else:
        items = body["input"]
        for it in [{"role": "user", "content": items}] if isinstance(items, str) else items:
            t = it.get("type", "message")
            if t == "message":
                out.append((it["role"], text_of(it["content"])))
            elif t == "function_call":
                out.append(("call", it["name"], json.loads(it["arguments"])))
            elif t == "custom_tool_call":
                out.append(("call", it["name"], {"input": it["input"]}))
            elif t in ("function_call_output", "custom_tool_call_output"):
                out.append(("result", text_of(it["output"])))
            elif t == "reasoning":
                out.append(("reasoning", it))
    return out


def calls_and_results(conv: list[tuple]) -> list[tuple]:
    return [e for e in conv if e[0] in ("call", "result")]


def all_ok(app, user_id: int, model: str, expected: int) -> list:
    """The account's usage rows for the model once all `expected` are written: each a
    `responses` call answered 200."""
    rows: list = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = usage_rows(app, user_id, model)
        if len(rows) >= expected:
            break
        time.sleep(0.1)
    seen = [(r.operation, r.status_code, r.error_code) for r in rows]
    assert seen == [("responses", 200, None)] * expected, f"usage rows of {model}: {seen}"
    return rows


# --------------------------------------------------------------------------- Codex CLI


def test_codex_applies_a_patch(tmp_path, egress_trap, live, upstream, app, account, marker):
    """The upstream asks for `apply_patch` (on a chat or messages upstream, a function
    with one string parameter `input`); Codex gets it as its free-form tool, applies the
    patch in the sandboxed work dir and sends the result back."""
    user_id, _, key = account

    def go(kind):
        tool = runner(tmp_path, egress_trap, kind)
        name = f"notes-{marker}-{TAGS[kind]}.txt"
        model = UPSTREAM_KINDS[kind][0]
        prompt = f"Create {name} with apply_patch"
        return tool, name, tool.codex(live.url + "/v1", key, model, prompt, sandbox="workspace-write")

    def check(kind, result):
        tool, name, run = result
        seen = sent(upstream, kind, name)
        why = report(run, live, seen)
        assert run.returncode == 0, why
        assert len(seen) == 2, why
        _, snippet = standin_prompt(seen[0])
        created = tool.workdir / name
        assert created.exists(), why
        assert created.read_text() == f"Echo: {snippet}\n", why
        steps = calls_and_results(conversation(kind, seen[1]["body"]))
        assert [s[:2] for s in steps] == [("call", "apply_patch"), ("result", steps[-1][1])], steps
        assert steps[0][2]["input"].startswith(f"*** Begin Patch\n*** Add File: {name}\n"), steps
        assert "Success. Updated the following files" in steps[1][1], steps
        assert "Tool result: " in run.stdout, why
        all_ok(app, user_id, UPSTREAM_KINDS[kind][0], 2)
        assert run.egress == [], why

    every_kind(in_parallel(go, KINDS), check)


def test_codex_runs_a_command(tmp_path, egress_trap, live, upstream, app, account, marker):
    """The upstream asks `exec_command` to run the prompt's backticked command; Codex
    runs it and sends its output back; the final answer quotes it."""
    user_id, _, key = account

    def go(kind):
        tool = runner(tmp_path, egress_trap, kind)
        word = f"{marker}-{TAGS[kind]}"
        prompt = f"Run `echo {word}-$((6*7))` and tell me what it printed"
        return word, tool.codex(live.url + "/v1", key, UPSTREAM_KINDS[kind][0], prompt, sandbox="workspace-write")

    def check(kind, result):
        word, run = result
        seen = sent(upstream, kind, word)
        why = report(run, live, seen)
        assert run.returncode == 0, why
        assert len(seen) == 2, why
        steps = calls_and_results(conversation(kind, seen[1]["body"]))
        assert steps[0] == ("call", "exec_command", {"cmd": f"echo {word}-$((6*7))"}), steps
        assert steps[1][0] == "result" and f"{word}-42" in steps[1][1], steps
        assert len(steps) == 2, steps
        assert "Tool result: " in run.stdout and f"{word}-42" in run.stdout, why
        all_ok(app, user_id, UPSTREAM_KINDS[kind][0], 2)
        assert run.egress == [], why

    every_kind(in_parallel(go, KINDS), check)


def test_codex_stateless_reasoning_keeps_anthropic_thinking(tool, live, upstream, app, account, marker):
    """Codex stores nothing (`store: false`) and asks for `reasoning.encrypted_content`:
    on an Anthropic upstream with thinking on, the encrypted content it gets must carry
    the signed thinking block, and the gateway must put it back, unchanged and first,
    in the assistant turn with the tool_use when Codex sends the conversation again."""
    user_id, _, key = account
    word = f"{marker}-think"
    prompt = f"Run `echo {word}` please"
    run = tool.codex(live.url + "/v1", key, "lumyx-plus_v1", prompt, sandbox="workspace-write")
    seen = sent(upstream, "anthropic", word)
    why = report(run, live, seen)
    assert run.returncode == 0, why
    assert len(seen) == 2, why
    first, second = (r["body"] for r in seen)
    assert first["thinking"]["type"] == "enabled", first.get("thinking")
    asked = next(m for m in second["messages"] if m["role"] == "assistant")
    kinds = [b["type"] for b in asked["content"]]
    assert "tool_use" in kinds and kinds[0] == "thinking", asked["content"]
    thinking = asked["content"][0]
    # the stand-in's own block, signature intact
    assert thinking["thinking"] and thinking["signature"] == signature_for(thinking["thinking"]), thinking
    assert second["thinking"]["type"] == "enabled"
    assert "Tool result: " in run.stdout and word in run.stdout, why
    all_ok(app, user_id, "lumyx-plus_v1", 2)


# --------------------------------------------------------------------------- OpenAI Agents SDK


def sdk_posts(out: dict) -> list[dict]:
    return [r["body"] for r in out["requests"] if r["method"] == "POST" and r["path"].endswith("/responses")]


def test_agents_sdk_function_tool_turn(tmp_path, egress_trap, live, upstream, app, account, marker):
    """`Runner.run` and `Runner.run_streamed` with a `@function_tool`, store on (the
    SDK's default), reasoning with summaries: the reasoning item comes back by id
    alone, and the gateway resolves it from the stored response."""
    user_id, _, key = account
    keys = [(kind, stream) for kind in KINDS for stream in (False, True)]

    def go(key_):
        kind, stream = key_
        tool = runner(tmp_path, egress_trap, f"{kind}-{int(stream)}")
        prompt = f"Where is order {marker}-{TAGS[kind]}-{int(stream)}?"
        model = UPSTREAM_KINDS[kind][0]
        run = tool.agents_sdk(live.url + "/v1", key, model, prompt, stream=stream, reasoning="low", record=True)
        return prompt, run

    def check(key_, result):
        kind, stream = key_
        prompt, run = result
        seen = sent(upstream, kind, prompt)
        why = report(run, live, seen)
        assert run.returncode == 0, why
        out = json.loads(run.stdout)
        _, snippet = standin_prompt(seen[0])
        assert out["tool_calls"] == [{"order_id": snippet}], why
        assert out["final_output"] == f"Tool result: Order {snippet} shipped", why
        kinds = [k for k in out["items"] if k != "reasoning_item"]
        assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"], out["items"]

        first, second = sdk_posts(out)
        assert "store" not in first and first.get("stream", False) is stream
        back = [i for i in second["input"] if i.get("type") == "reasoning"]
        assert all("encrypted_content" not in i for i in back), back  # by id alone
        assert [i.get("type") for i in second["input"] if i.get("type") != "reasoning"] == [
            None,
            "function_call",
            "function_call_output",
        ], second["input"]

        assert len(seen) == 2, why
        conv = conversation(kind, seen[1]["body"])
        assert calls_and_results(conv) == [
            ("call", "lookup_order", {"order_id": snippet}),
            ("result", f"Order {snippet} shipped"),
        ], conv
        if kind == "anthropic":
            asked = next(m for m in seen[1]["body"]["messages"] if m["role"] == "assistant")
            assert asked["content"][0]["type"] == "thinking", asked["content"]
            assert asked["content"][0]["signature"] == signature_for(asked["content"][0]["thinking"])
        assert run.egress == [], why

    every_kind(in_parallel(go, keys), check)
    for kind in KINDS:
        all_ok(app, user_id, UPSTREAM_KINDS[kind][0], 4)


def test_agents_sdk_previous_response_id(tmp_path, egress_trap, live, upstream, app, account, marker):
    """`auto_previous_response_id=True`: after the first call the SDK sends only the
    `function_call_output` and `previous_response_id`; the call it answers lives in the
    gateway's stored response, which rebuilds the whole conversation for the upstream.
    Then a second turn chained by `previous_response_id` (only the new user message)."""
    user_id, _, key = account
    keys = [(kind, stream) for kind in KINDS for stream in (False, True)]

    def go(key_):
        kind, stream = key_
        tool = runner(tmp_path, egress_trap, f"{kind}-{int(stream)}")
        prompt = f"Where is order {marker}-{TAGS[kind]}-{int(stream)}?"
        model = UPSTREAM_KINDS[kind][0]
        return prompt, tool.agents_sdk(live.url + "/v1", key, model, prompt, stream=stream, previous=True, record=True)

    def check(key_, result):
        kind, stream = key_
        prompt, run = result
        seen = sent(upstream, kind, prompt)
        why = report(run, live, seen)
        assert run.returncode == 0, why
        out = json.loads(run.stdout)
        _, snippet = standin_prompt(seen[0])
        assert out["final_output"] == f"Tool result: Order {snippet} shipped", why
        assert out["second"]["final_output"] == "Tool result: Order And the next one? shipped", why

        posts = sdk_posts(out)
        assert len(posts) == 4, [p.get("input") for p in posts]
        assert "previous_response_id" not in posts[0]
        for later in posts[1:]:
            assert later["previous_response_id"].startswith("resp_"), later
        assert [i.get("type") for i in posts[1]["input"]] == ["function_call_output"], posts[1]["input"]
        assert posts[2]["input"] == [{"content": "And the next one?", "role": "user"}], posts[2]["input"]
        assert [i.get("type") for i in posts[3]["input"]] == ["function_call_output"], posts[3]["input"]

        # the gateway sent the upstream the whole conversation every time
        assert len(seen) == 4, why
        conv = conversation(kind, seen[1]["body"])
        assert ("user", prompt) in conv or any(e[0] == "user" and prompt in e[1] for e in conv), conv
        assert calls_and_results(conv) == [
            ("call", "lookup_order", {"order_id": snippet}),
            ("result", f"Order {snippet} shipped"),
        ], conv
        last = conversation(kind, seen[3]["body"])
        assert any(e[0] == "user" and prompt in e[1] for e in last), last
        assert calls_and_results(last) == [
            ("call", "lookup_order", {"order_id": snippet}),
            ("result", f"Order {snippet} shipped"),
            ("call", "lookup_order", {"order_id": "And the next one?"}),
            ("result", "Order And the next one? shipped"),
        ], last
        assert run.egress == [], why

    every_kind(in_parallel(go, keys), check)
    for kind in KINDS:
        all_ok(app, user_id, UPSTREAM_KINDS[kind][0], 8)
