"""Fake upstream, Anthropic wire format: messages, count_tokens, models.

See tests/fakes/upstream.py for how to run the server and the scenario list. A user turn that
offers tools gets a call of the tool the prompt names, else of the first one, filled as
tests/fakes/agent_tools.py fills it (a patch for ``apply_patch``, a command for a shell-like tool).
"""

from __future__ import annotations

import json

import orjson

from tests.fakes import agent_tools
from tests.fakes.upstream_core import (
    MIN_CACHEABLE_TOKENS,
    REFUSAL_TEXT,
    count_text,
    example_from_schema,
    json_tokens,
    make_id,
    shape_text,
    signature_for,
    split_fixed,
    split_tokens,
)

RID_HEADER = "request-id"
_COMMON = [
    ("anthropic-organization-id", "7f3c9a2e-0b1d-4c55-9e21-fake00000001"),
    ("anthropic-ratelimit-requests-limit", "4000"),
    ("anthropic-ratelimit-requests-remaining", "3999"),
    ("anthropic-ratelimit-input-tokens-limit", "2000000"),
    ("anthropic-ratelimit-input-tokens-remaining", "1999000"),
    ("anthropic-ratelimit-output-tokens-limit", "400000"),
    ("anthropic-ratelimit-output-tokens-remaining", "399000"),
]
HEADERS = (_COMMON, _COMMON, RID_HEADER)

STATUS_ERRORS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}
FAKE_TOOL = {
    "name": "fake_lookup",
    "description": "Look something up.",
    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
}
GARBAGE_FRAME = (
    b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, '
    b'"delta": {"type": "text_delta", "text": "unterminated\n\n'
)
MODELS = [
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
]
THINKING_MAX_MSG = (
    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
    "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    "#max-tokens-and-context-window-size"
)


def model_info(mid, name="Claude (fake)", created="2025-01-01T00:00:00Z"):
    return {
        "type": "model",
        "id": mid,
        "display_name": name,
        "created_at": created,
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    }


MODELS_BODY = orjson.dumps(
    {"data": [model_info(*m) for m in MODELS], "has_more": False, "first_id": MODELS[0][0], "last_id": MODELS[-1][0]}
)


def body_of(req, etype, message):
    return {"type": "error", "error": {"type": etype, "message": message}, "request_id": req.rid}


def error(app, req, status, etype, message, code, param, extra):
    if etype is None:
        etype, message = STATUS_ERRORS.get(status) or (
            "invalid_request_error" if status < 500 else "api_error",
            f"Error {status}.",
        )
    return app.send_json(req, status, body_of(req, etype, message), extra, faults=False)


def invalid(app, req, message):
    return app.error(req, 400, "invalid_request_error", message)


# --------------------------------------------------------------------------- input reading


def blocks_text(c) -> str:
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "\n".join(
            p["text"] for p in c if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ""


def messages_text(body) -> str:
    for m in reversed(body.get("messages") or ()):
        if isinstance(m, dict) and m.get("role") == "user":
            return blocks_text(m.get("content"))
    return ""


def block_tokens(p) -> int:
    t = p.get("type")
    if t == "text":
        return count_text(p.get("text"))
    if t == "image":
        return 1600
    if t == "document":
        return 1000
    if t == "tool_use":
        return json_tokens(p.get("input")) + 5
    if t == "tool_result":
        return count_text(blocks_text(p.get("content"))) + 5
    if t in ("thinking", "redacted_thinking"):
        return count_text(p.get("thinking") or "")
    return json_tokens(p)


def input_usage(app, b, tools, use_cache=True):
    """(total, cache_creation, cache_read, ttl), as Anthropic counts them: the prefix up to the
    last cache_control is cached; a prefix cached before (by an earlier request's breakpoint,
    at any block of this one) is read, and only the rest of this prefix is written."""
    segs = []  # (tokens, key, cache_control or None)
    for t in tools:
        segs.append((json_tokens(t) + 5, orjson.dumps(t), t.get("cache_control")))
    system = b.get("system")
    if isinstance(system, str):
        segs.append((count_text(system) + 3, system, None))
    elif isinstance(system, list):
        for p in system:
            if isinstance(p, dict):
                segs.append((count_text(p.get("text")) + 1, p.get("text"), p.get("cache_control")))
    for m in b["messages"]:
        c = m.get("content")
        if isinstance(c, str):
            segs.append((count_text(c) + 3, c, None))
        elif isinstance(c, list):
            segs.append((3, m.get("role"), None))
            for p in c:
                if isinstance(p, dict):
                    segs.append((block_tokens(p), orjson.dumps(p), p.get("cache_control")))
    total = 3 + sum(s[0] for s in segs)
    last = max((i for i, s in enumerate(segs) if s[2]), default=-1)
    if last < 0 or not use_cache:
        return total, 0, 0, "5m"
    prefix = sum(s[0] for s in segs[: last + 1])
    if prefix < MIN_CACHEABLE_TOKENS:
        return total, 0, 0, "5m"
    cc = segs[last][2]
    ttl = "1h" if isinstance(cc, dict) and cc.get("ttl") == "1h" else "5m"

    keys, running = [], hash((b"an", b.get("model")))
    for seg in segs[: last + 1]:  # the key of each prefix, chained
        running = hash((running, seg[1]))
        keys.append(running)
    read = 0
    for i in range(last, -1, -1):
        if keys[i] in app.prompt_cache:
            read = sum(seg[0] for seg in segs[: i + 1])
            break
    app.cache_lookup(keys[last], store=[k for k, seg in zip(keys, segs) if seg[2]])
    return total, prefix - read, read, ttl


def thinking_mode(b):
    th = b.get("thinking")
    if not isinstance(th, dict):
        return None
    return th.get("type") if th.get("type") in ("enabled", "adaptive") else None


# --------------------------------------------------------------------------- /v1/messages


def validate(app, req, need_max_tokens=True):
    b = req.body
    if not isinstance(b.get("model"), str) or not b.get("model"):
        return invalid(app, req, "model: Field required")
    msgs = b.get("messages")
    if msgs is None:
        return invalid(app, req, "messages: Field required")
    if not isinstance(msgs, list) or not msgs:
        return invalid(app, req, "messages: at least one message is required")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            return invalid(app, req, f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in m:
            return invalid(app, req, f"messages.{i}.content: Field required")
    if need_max_tokens:
        mt = b.get("max_tokens")
        if mt is None:
            return invalid(app, req, "max_tokens: Field required")
        if not isinstance(mt, int) or mt < 1:
            return invalid(app, req, "max_tokens: Input should be greater than or equal to 1")
    th = b.get("thinking")
    if isinstance(th, dict) and th.get("type") == "enabled":
        bt = th.get("budget_tokens")
        if not isinstance(bt, int):
            return invalid(app, req, "thinking.enabled.budget_tokens: Field required")
        if bt < 1024:
            return invalid(app, req, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if need_max_tokens and b["max_tokens"] <= bt:
            return invalid(app, req, THINKING_MAX_MSG)
    tc = b.get("tool_choice")
    if thinking_mode(b) and isinstance(tc, dict) and tc.get("type") in ("any", "tool"):
        return invalid(app, req, "Thinking may not be enabled when tool_choice forces tool use.")
    return None


def custom_tools(b):
    return [
        t
        for t in (b.get("tools") or ())
        if isinstance(t, dict) and "input_schema" in t and t.get("type", "custom") == "custom"
    ]


def messages(app, req):
    bad = validate(app, req)
    if bad is not None:
        return bad
    b = req.body
    model, msgs, scen = b["model"], b["messages"], req.scen
    stops = b.get("stop_sequences") if isinstance(b.get("stop_sequences"), list) else None
    tools = custom_tools(b)
    tc = b.get("tool_choice") if isinstance(b.get("tool_choice"), dict) else {}
    tct = tc.get("type", "auto")
    snippet = req.snippet()
    last = msgs[-1]
    lc = last.get("content")
    results = (
        [p for p in lc if isinstance(p, dict) and p.get("type") == "tool_result"]
        if isinstance(lc, list) and last["role"] == "user"
        else []
    )
    seq = app.seq
    budget = b["max_tokens"]
    blocks = []  # (block, pieces)
    out_tokens = 0
    if thinking_mode(b):
        pieces = split_tokens(f"The user wrote: {snippet}. A short, direct answer fits best.")[:budget]
        text = "".join(pieces)
        blocks.append(({"type": "thinking", "thinking": text, "signature": signature_for(text)}, pieces))
        budget -= len(pieces)
        out_tokens += len(pieces)
    stop_reason, stop_seq, stop_details = "end_turn", None, None
    text = None
    if "refusal" in scen:
        text, stop_reason = REFUSAL_TEXT, "refusal"
        stop_details = {"type": "refusal", "category": None, "explanation": None}
    elif "echo-request" in scen:
        text = req.raw.decode("utf-8", "replace")
    elif results:
        text = "Tool result: " + "; ".join(blocks_text(p.get("content")) for p in results)[:500]
    elif last["role"] == "user" and ("tool" in scen or (tools and tct != "none")):
        use = [agent_tools.tool(t["name"], t.get("input_schema")) for t in tools or [FAKE_TOOL]]
        named = next((t for t in use if t["name"] == tc.get("name")), None) if tct == "tool" else None
        chosen = (
            [named] if named is not None else agent_tools.pick(use, req.text, not tc.get("disable_parallel_tool_use"))
        )
        if tct not in ("any", "tool"):
            pre = split_tokens(f"I'll use the {chosen[0]['name']} tool.")
            blocks.append(({"type": "text", "text": "".join(pre)}, pre))
            out_tokens += len(pre)
        for t in chosen:
            args = agent_tools.function_arguments(t, req.text, snippet)
            blocks.append(
                ({"type": "tool_use", "id": make_id("toolu_01", next(seq), 22), "name": t["name"], "input": args}, None)
            )
            out_tokens += json_tokens(args) + 3
        stop_reason = "tool_use"
    else:
        oc = b.get("output_config") if isinstance(b.get("output_config"), dict) else {}
        fmt = oc.get("format") or b.get("output_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            text = json.dumps(example_from_schema(fmt.get("schema") or {}, snippet))
        else:
            text = "Echo: " + snippet
    if text is not None:
        fixed = "echo-request" in scen or stop_reason == "refusal"
        pieces, reason, matched = shape_text(req, text, stops, budget, fixed=fixed)
        blocks.append(({"type": "text", "text": "".join(pieces)}, pieces))
        out_tokens += len(pieces)
        if reason == "length":
            stop_reason = "max_tokens"
        elif matched is not None:
            stop_reason, stop_seq = "stop_sequence", matched
    elif budget <= 0:
        stop_reason = "max_tokens"

    usage = None
    if "no-usage" not in scen:
        total, cc, cr, ttl = input_usage(app, b, tools)
        usage = {
            "input_tokens": total - cc - cr,
            "cache_creation_input_tokens": cc,
            "cache_read_input_tokens": cr,
            "cache_creation": {
                "ephemeral_5m_input_tokens": cc if ttl == "5m" else 0,
                "ephemeral_1h_input_tokens": cc if ttl == "1h" else 0,
            },
            "output_tokens": out_tokens,
            "service_tier": "standard",
        }
    mid = make_id("msg_01", next(seq), 22)
    if b.get("stream") is True:
        frames = message_frames(req, mid, model, blocks, stop_reason, stop_seq, stop_details, usage)
        err = event(b"error", body_of(req, "overloaded_error", "Overloaded"))
        return app.send_stream(req, frames, err, GARBAGE_FRAME)
    out = {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [blk for blk, _ in blocks],
        "stop_reason": stop_reason,
        "stop_sequence": stop_seq,
    }
    if stop_details is not None:
        out["stop_details"] = stop_details
    if usage is not None:
        out["usage"] = usage
    return app.send_json(req, 200, out)


def event(name: bytes, obj) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


def message_frames(req, mid, model, blocks, stop_reason, stop_seq, stop_details, usage):
    dumps = orjson.dumps
    start = {
        "id": mid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if usage is not None:
        start["usage"] = dict(usage, output_tokens=1)
    frames = [event(b"message_start", {"type": "message_start", "message": start})]
    add = frames.append
    ping = event(b"ping", {"type": "ping"})
    for idx, (blk, pieces) in enumerate(blocks):
        t = blk["type"]
        pre = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":' % idx
        if t == "text":
            add(
                event(
                    b"content_block_start",
                    {"type": "content_block_start", "index": idx, "content_block": {"type": "text", "text": ""}},
                )
            )
        elif t == "thinking":
            add(
                event(
                    b"content_block_start",
                    {
                        "type": "content_block_start",
                        "index": idx,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                    },
                )
            )
        else:
            add(
                event(
                    b"content_block_start",
                    {"type": "content_block_start", "index": idx, "content_block": dict(blk, input={})},
                )
            )
        if idx == 0:
            add(ping)
        if t == "text":
            for p in pieces:
                add(pre + b'{"type":"text_delta","text":' + dumps(p) + b"}}\n\n")
        elif t == "thinking":
            for p in pieces:
                add(pre + b'{"type":"thinking_delta","thinking":' + dumps(p) + b"}}\n\n")
            add(pre + b'{"type":"signature_delta","signature":' + dumps(blk["signature"]) + b"}}\n\n")
        else:
            for p in [""] + split_fixed(dumps(blk["input"]).decode()):
                add(pre + b'{"type":"input_json_delta","partial_json":' + dumps(p) + b"}}\n\n")
        add(event(b"content_block_stop", {"type": "content_block_stop", "index": idx}))
    if not blocks:
        add(ping)
    delta = {"stop_reason": stop_reason, "stop_sequence": stop_seq}
    if stop_details is not None:
        delta["stop_details"] = stop_details
    md = {"type": "message_delta", "delta": delta}
    if usage is not None:
        md["usage"] = {
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage["cache_read_input_tokens"],
            "output_tokens": usage["output_tokens"],
        }
    add(event(b"message_delta", md))
    add(event(b"message_stop", {"type": "message_stop"}))
    return frames


def count_tokens(app, req):
    bad = validate(app, req, need_max_tokens=False)
    if bad is not None:
        return bad
    total = input_usage(app, req.body, custom_tools(req.body), False)[0] if "no-usage" not in req.scen else 0
    return app.send_json(req, 200, {"input_tokens": total})


def list_models(app, req):
    return app.send_json(req, 200, MODELS_BODY)


def get_model(app, req):
    mid = req.path[len("/models/") :]
    known = next((m for m in MODELS if m[0] == mid), None)
    return app.send_json(req, 200, model_info(*known) if known else model_info(mid))


ROUTES = {
    ("POST", "/messages"): (messages, messages_text),
    ("POST", "/messages/count_tokens"): (count_tokens, messages_text),
    ("GET", "/models"): (list_models, None),
    ("GET", "/models/{id}"): (get_model, None),
}
