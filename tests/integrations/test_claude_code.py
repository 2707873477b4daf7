"""Claude Code (npm `@anthropic-ai/claude-code`) configured with the docs' variables:

    ANTHROPIC_AUTH_TOKEN=<key> ANTHROPIC_API_KEY="" ANTHROPIC_BASE_URL=<server>/api/
    ANTHROPIC_DEFAULT_OPUS_MODEL / _SONNET_MODEL / _HAIKU_MODEL, CLAUDE_CODE_SUBAGENT_MODEL

It then posts to <server>/api/v1/messages (Anthropic Messages API, streamed). It
runs non-interactively (`claude -p`), with its documented switches for telemetry,
auto-update, error reporting and other non-essential traffic off, an empty HOME
and an empty working directory; on a model behind an Anthropic-format upstream
(pass-through) and one behind an OpenAI-format upstream (the gateway translates).

The stand-in upstream calls the first tool it is offered, so the plain chat runs
with `--tools ""` (no tools); the agentic run offers Bash alone and lets Claude
Code run `echo` with it: the upstream asks for the tool, Claude Code runs it and
sends the result back, and the stand-in's final answer quotes that result."""

from __future__ import annotations

import json

import pytest

from tests.integrations.harness import (
    ANTHROPIC_MODEL,
    CLAUDE,
    OPENAI_MODEL,
    gateway_log_tail,
    require,
    standin_answer,
    upstream_model,
    upstream_path,
    upstream_requests_with,
)

MODELS = [pytest.param(ANTHROPIC_MODEL, id="anthropic-upstream"), pytest.param(OPENAI_MODEL, id="openai-upstream")]


def docs_env(live, key: str, model: str) -> dict:
    return {
        # the docs' configuration
        "ANTHROPIC_AUTH_TOKEN": key,
        "ANTHROPIC_API_KEY": "",
        "ANTHROPIC_BASE_URL": live.url + "/api/",
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "CLAUDE_CODE_SUBAGENT_MODEL": model,
        # Claude Code's documented switches for a quiet, offline, scripted run
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def failure(run, live, upstream, marker) -> str:
    seen = upstream_requests_with(upstream, marker)
    return (
        run.report()
        + "\n--- gateway log\n"
        + gateway_log_tail(live)
        + f"\n--- upstream saw {len(seen)} request(s) with the marker: "
        + json.dumps([{"path": r["path"], "model": (r.get("body") or {}).get("model")} for r in seen])
    )


def result_event(run) -> dict:
    """The final `result` object of --output-format json or stream-json."""
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip().startswith("{")]
    results = [e for e in lines if e.get("type") == "result"]
    assert len(results) == 1, run.stdout[-3000:]
    return results[0]


@pytest.mark.live
@pytest.mark.parametrize("output_format", ["json", "stream-json"])
@pytest.mark.parametrize("model", MODELS)
def test_print_mode_answers(model, output_format, tool, live, upstream, key, marker):
    prompt = f"Say hello {marker}"
    extra = ["--verbose"] if output_format == "stream-json" else []
    run = tool.run(
        [
            require(CLAUDE),
            "-p",
            prompt,
            "--model",
            model,
            "--tools",
            "",
            "--no-session-persistence",
            "--output-format",
            output_format,
            *extra,
        ],
        env=docs_env(live, key, model),
        timeout=60,
    )
    assert run.returncode == 0, failure(run, live, upstream, marker)
    result = result_event(run)
    assert result["subtype"] == "success" and result["is_error"] is False, failure(run, live, upstream, marker)

    # the gateway served it from the model's upstream, and the answer printed is the upstream's
    seen = upstream_requests_with(upstream, marker, upstream_path(model))
    assert seen, failure(run, live, upstream, marker)
    assert all(r["body"]["model"] == upstream_model(model) for r in seen)
    assert seen[-1]["body"].get("stream") is True, "Claude Code streams"
    assert result["result"] == standin_answer(seen[-1]), failure(run, live, upstream, marker)
    assert result["result"].startswith("Echo: ")
    assert result["usage"]["output_tokens"] > 0, "Claude Code counted the usage the gateway reported"
    assert run.egress == [], run.report()

    if output_format == "stream-json":
        events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        init = next(e for e in events if e.get("type") == "system" and e.get("subtype") == "init")
        assert init["model"] == model
        said = "".join(
            block.get("text", "") for e in events if e.get("type") == "assistant" for block in e["message"]["content"]
        )
        assert said == result["result"]


@pytest.mark.live
@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip(model, tool, live, upstream, key, marker):
    """The upstream asks for Bash, Claude Code handles the call, and its result goes
    back up paired with the call; the final answer quotes it. The stand-in asks a
    shell-like tool to run the prompt's first `backticked` command. Claude Code may
    run `echo` only; whatever else the upstream asks to run is refused, and the
    refusal is the tool result. (The commit-attribution reminder is switched off so
    that the user's words come first in the message the stand-in reads.)"""
    command = f"echo {marker}"
    prompt = f"Run `{command}`"
    run = tool.run(
        [
            require(CLAUDE),
            "-p",
            prompt,
            "--model",
            model,
            "--tools",
            "Bash",
            "--allowedTools",
            "Bash(echo *)",
            "--settings",
            json.dumps(NO_ATTRIBUTION),
            "--no-session-persistence",
            "--output-format",
            "json",
        ],
        env={**docs_env(live, key, model), **ONLY_BASH},
        timeout=90,
    )
    assert run.returncode == 0, failure(run, live, upstream, marker)
    result = result_event(run)
    assert result["subtype"] == "success" and result["is_error"] is False, failure(run, live, upstream, marker)
    assert result["num_turns"] == 2, failure(run, live, upstream, marker)

    seen = upstream_requests_with(upstream, marker, upstream_path(model))
    assert len(seen) >= 2 and all(r["body"]["model"] == upstream_model(model) for r in seen), failure(
        run, live, upstream, marker
    )
    name, call_id, arguments, result_id, output = tool_exchange(model, seen[-1]["body"]["messages"])
    assert name == "Bash" and result_id == call_id, seen[-1]["body"]["messages"][-2:]
    if arguments["command"] == command:
        # the stand-in asked for exactly the user's command: Claude Code ran it
        assert output.strip() == marker, run.report()
        assert result["permission_denials"] == []
    else:
        # it asked for something else (a backticked text before the user's words):
        # Claude Code refused that very command
        assert [d["tool_input"]["command"] for d in result["permission_denials"]] == [arguments["command"]], (
            run.report()
        )
    assert result["result"] == "Tool result: " + output, failure(run, live, upstream, marker)
    assert run.egress == [], run.report()


NO_ATTRIBUTION = {"attribution": {"commit": "", "pr": ""}}
# With tool search on, Claude Code also offers a `DeferredToolPlaceholder` tool with
# defer_loading: true, which a real model never calls but the stand-in, calling the
# first tool offered, would. Claude Code's documented switch keeps the offer to Bash.
ONLY_BASH = {"ENABLE_TOOL_SEARCH": "false"}


def tool_exchange(model: str, messages: list) -> tuple:
    """(tool name, call id, arguments, id the result answers, result text) from the
    last two messages the upstream received, in its own wire format."""
    asked, answered = messages[-2], messages[-1]
    assert asked["role"] == "assistant"
    if model == ANTHROPIC_MODEL:
        call = next(b for b in asked["content"] if b["type"] == "tool_use")
        back = next(b for b in answered["content"] if b["type"] == "tool_result")
        content = back["content"]
        text = content if isinstance(content, str) else "\n".join(b["text"] for b in content if b["type"] == "text")
        return call["name"], call["id"], call["input"], back["tool_use_id"], text
    call = asked["tool_calls"][0]
    assert answered["role"] == "tool"
    content = answered["content"]
    text = content if isinstance(content, str) else "\n".join(p["text"] for p in content if p["type"] == "text")
    return (
        call["function"]["name"],
        call["id"],
        json.loads(call["function"]["arguments"]),
        answered["tool_call_id"],
        text,
    )


# The test catalog's model with Anthropic's cache prices ($3 in, $15 out, reads $0.30, 5-minute
# writes $3.75, 1-hour writes $6 per 1M), behind the Anthropic-format stand-in.
CACHE_MODEL = "cache-claude"
CACHE_PRICES = {"input": "3", "cache_read": "0.3", "cache_write": "3.75", "cache_write_1h": "6", "output": "15"}


def price_list_cost(row) -> int:
    """What the provider's price list charges for a usage row's tokens, in µcr, rounded up once."""
    from lumyx import money

    price = {kind: money.usd_price_to_micro(usd) for kind, usd in CACHE_PRICES.items()}
    uncached = row.input_tokens - row.cached_tokens - row.cache_write_tokens - row.cache_write_1h_tokens
    per_million = (
        uncached * price["input"]
        + row.cached_tokens * price["cache_read"]
        + row.cache_write_tokens * price["cache_write"]
        + row.cache_write_1h_tokens * price["cache_write_1h"]
        + row.output_tokens * price["output"]
    )
    return -(-per_million // 1_000_000)


@pytest.mark.live
def test_a_session_is_charged_what_the_price_list_says(tool, live, upstream, app, account, marker):
    """A Claude Code tool turn marks its system prompt and tools for caching: its first request
    writes the cache, the next reads it. Each request is charged the price list's amount for
    its token kinds, to the micro-credit, and the account's balance moved by exactly that."""
    from tests.integrations.harness import usage_rows

    user_id, _email, key = account
    run = tool.run(
        [
            require(CLAUDE),
            "-p",
            f"Run `echo {marker}`",
            "--model",
            CACHE_MODEL,
            "--tools",
            "Bash",
            "--allowedTools",
            "Bash(echo *)",
            "--settings",
            json.dumps(NO_ATTRIBUTION),
            "--no-session-persistence",
            "--output-format",
            "json",
        ],
        env={**docs_env(live, key, CACHE_MODEL), **ONLY_BASH},
        timeout=90,
    )
    assert run.returncode == 0, failure(run, live, upstream, marker)
    rows = usage_rows(app, user_id, CACHE_MODEL)
    assert len(rows) >= 2 and all(row.status_code == 200 and row.tokens_reported for row in rows)
    assert any(row.cache_write_tokens or row.cache_write_1h_tokens for row in rows), "the first request wrote"
    assert any(row.cached_tokens for row in rows), "a later request read the cache"
    assert [row.cost for row in rows] == [price_list_cost(row) for row in rows]
    all_input = sum(-(-(row.input_tokens * 300 + row.output_tokens * 1500) // 1) for row in rows)
    assert sum(row.cost for row in rows) < all_input, "cached prompt tokens cost less than fresh ones"
