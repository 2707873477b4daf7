"""Fake upstream, OpenAI wire format: chat completions, legacy completions, embeddings, models.

See tests/fakes/upstream.py for how to run the server and the scenario list. A user turn that
offers tools gets a call of the tool the prompt names, else of the first one, filled as
tests/fakes/agent_tools.py fills it (a patch for ``apply_patch``, a command for a shell-like tool).
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import orjson

from tests.fakes import agent_tools
from tests.fakes.upstream_core import (
    FINGERPRINT,
    MIN_CACHEABLE_TOKENS,
    REFUSAL_TEXT,
    count_text,
    embedding_vector,
    example_from_schema,
    json_tokens,
    make_id,
    scan_text,
    shape_text,
    split_fixed,
    split_tokens,
)

RID_HEADER = "x-request-id"
_COMMON = [
    ("openai-organization", "fake-org"),
    ("openai-processing-ms", "3"),
    ("openai-version", "2020-10-01"),
    ("x-ratelimit-limit-requests", "10000"),
    ("x-ratelimit-limit-tokens", "30000000"),
    ("x-ratelimit-remaining-requests", "9999"),
    ("x-ratelimit-remaining-tokens", "29999000"),
    ("x-ratelimit-reset-requests", "6ms"),
    ("x-ratelimit-reset-tokens", "2ms"),
]
HEADERS = (_COMMON, _COMMON, RID_HEADER)

STATUS_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in 1s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}
ROLES = frozenset(("system", "developer", "user", "assistant", "tool", "function"))
FAKE_TOOL = {
    "type": "function",
    "function": {
        "name": "fake_lookup",
        "description": "Look something up.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}
OBF = b"q7ZfK2xW9mLp4RtY8vNcH3bJ6sDg1Ae5"
DONE = b"data: [DONE]\n\n"
ERROR_FRAME = (
    b"data: "
    + orjson.dumps({"error": {"message": STATUS_ERRORS[500][2], "type": "server_error", "param": None, "code": None}})
    + b"\n\n"
)
GARBAGE_FRAME = b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "unterminated\n\n'
MODELS = [
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-5",
    "gpt-5-mini",
    "o3-mini",
    "o4-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "text-embedding-ada-002",
]


def model_obj(mid):
    return {"id": mid, "object": "model", "created": 1715367049, "owned_by": "system"}


MODELS_BODY = orjson.dumps({"object": "list", "data": [model_obj(m) for m in MODELS]})


def error(app, req, status, etype, message, code, param, extra):
    if etype is None:
        etype, code, message = STATUS_ERRORS.get(status) or (
            "invalid_request_error" if status < 500 else "server_error",
            None,
            f"Error {status}.",
        )
    return app.send_json(
        req, status, {"error": {"message": message, "type": etype, "param": param, "code": code}}, extra, faults=False
    )


def invalid(app, req, message, param=None, code=None):
    return app.error(req, 400, "invalid_request_error", message, code=code, param=param)


# --------------------------------------------------------------------------- input reading


def content_text(c) -> str:
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "\n".join(
            p["text"]
            for p in c
            if isinstance(p, dict) and p.get("type") in ("text", "input_text") and isinstance(p.get("text"), str)
        )
    return ""


def chat_text(body) -> str:
    for m in reversed(body.get("messages") or ()):
        if isinstance(m, dict) and m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def completion_text(body) -> str:
    p = body.get("prompt")
    if isinstance(p, list) and p and isinstance(p[-1], str):
        return p[-1]
    return p if isinstance(p, str) else ""


def embedding_text(body) -> str:
    i = body.get("input")
    if isinstance(i, list):
        return " ".join(x for x in i if isinstance(x, str))
    return i if isinstance(i, str) else ""


def message_tokens(m) -> int:
    total = 3
    if not isinstance(m, dict):
        return total
    c = m.get("content")
    if isinstance(c, str):
        total += count_text(c)
    elif isinstance(c, list):
        for p in c:
            if isinstance(p, dict):
                t = p.get("type")
                total += (
                    count_text(p.get("text"))
                    if t in ("text", "input_text")
                    else 85
                    if t in ("image_url", "input_image")
                    else 50
                )
    if m.get("tool_calls"):
        total += json_tokens(m["tool_calls"])
    if m.get("name"):
        total += 1
    return total


def cached_tokens(app, msgs, tools, ptoks, last_toks) -> int:
    if ptoks < MIN_CACHEABLE_TOKENS:
        return 0
    tk = orjson.dumps(tools)
    full = hash((b"oa", orjson.dumps(msgs), tk))
    pre = hash((b"oa", orjson.dumps(msgs[:-1]), tk))
    hit_full = full in app.prompt_cache
    hit_pre = app.cache_lookup(pre, (full,))
    cached = ptoks if hit_full else (ptoks - last_toks) if hit_pre else 0
    cached = (cached // 128) * 128
    return cached if cached >= MIN_CACHEABLE_TOKENS else 0


def usage_obj(p, c, r, cached):
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": r,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def reasoning_enabled(b) -> bool:
    eff = b.get("reasoning_effort")
    if eff is not None and eff != "none":
        return True
    r = b.get("reasoning")
    return isinstance(r, dict) and r.get("enabled", True) is not False and r.get("effort") != "none"


def pick_calls(tools, tc, parallel_ok, text, snippet):
    """(name, arguments) of the calls for a user turn: the function ``tool_choice``
    names, else as tests/fakes/agent_tools.py picks and fills them."""
    offered = [agent_tools.tool(t["function"].get("name", "tool"), t["function"].get("parameters")) for t in tools]
    offered = offered or [agent_tools.tool(FAKE_TOOL["function"]["name"], FAKE_TOOL["function"]["parameters"])]
    chosen = None
    if isinstance(tc, dict):
        fn = tc.get("function")
        name = fn.get("name") if isinstance(fn, dict) else tc.get("name")
        named = next((t for t in offered if t["name"] == name), None) if name else None
        chosen = [named] if named is not None else None
    chosen = chosen or agent_tools.pick(offered, text, parallel_ok)
    return [agent_tools.call_for(t, text, snippet)[1:] for t in chosen]


# --------------------------------------------------------------------------- chat completions


def chat(app, req):
    b = req.body
    model = b.get("model")
    if not isinstance(model, str) or not model:
        return invalid(app, req, "you must provide a model parameter")
    msgs = b.get("messages")
    if msgs is None:
        return invalid(app, req, "Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(msgs, list) or not msgs:
        return invalid(
            app,
            req,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            return invalid(
                app,
                req,
                f"Missing required parameter: 'messages[{i}].role'.",
                f"messages[{i}].role",
                "missing_required_parameter",
            )
    stream = b.get("stream") is True
    so = b.get("stream_options")
    if so is not None and not stream:
        return invalid(
            app, req, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    so = so if isinstance(so, dict) else {}
    n = b.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 128:
        return invalid(app, req, f"Invalid 'n': expected an integer between 1 and 128, got {n!r}.", "n")
    max_tokens = b.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = b.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return invalid(
            app,
            req,
            "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, "
            f"but got {max_tokens!r} instead.",
            "max_tokens",
            "integer_below_min_value",
        )
    stops = b.get("stop")
    stops = [stops] if isinstance(stops, str) else stops if isinstance(stops, list) else None
    tools = [
        t
        for t in (b.get("tools") or ())
        if isinstance(t, dict) and t.get("type", "function") == "function" and isinstance(t.get("function"), dict)
    ]
    tc = b.get("tool_choice")
    scen = req.scen
    role = msgs[-1].get("role")
    snippet = req.snippet()

    budget = max_tokens
    r_pieces = []
    if reasoning_enabled(b):
        r_pieces = split_tokens(f"The user wrote: {snippet}. A short, direct answer fits best.")
        if budget is not None:
            r_pieces = r_pieces[:budget]
            budget -= len(r_pieces)
    content = refusal = None
    calls = []
    reason = "stop"
    if "refusal" in scen:
        refusal = split_tokens(REFUSAL_TEXT)
    elif "echo-request" in scen:
        content, reason, _ = shape_text(req, req.raw.decode("utf-8", "replace"), stops, budget, fixed=True)
    elif role in ("tool", "function"):
        results = []
        for m in reversed(msgs):
            if m.get("role") not in ("tool", "function"):
                break
            results.append(content_text(m.get("content")))
        content, reason, _ = shape_text(req, "Tool result: " + "; ".join(reversed(results))[:500], stops, budget)
    elif role == "user" and (
        "tool" in scen or (tools and tc != "none" and not (isinstance(tc, dict) and tc.get("type") == "none"))
    ):
        calls = pick_calls(tools, tc, b.get("parallel_tool_calls") is not False, req.text, snippet)
    else:
        rf = b.get("response_format")
        rft = rf.get("type") if isinstance(rf, dict) else None
        if rft == "json_schema":
            js = rf.get("json_schema") or {}
            text = json.dumps(example_from_schema(js.get("schema") or {}, snippet))
        elif rft == "json_object":
            text = json.dumps({"echo": snippet})
        else:
            text = "Echo: " + snippet
        content, reason, _ = shape_text(req, text, stops, budget, fixed=rft in ("json_schema", "json_object"))
    finish = "tool_calls" if calls else "length" if reason == "length" else "stop"

    seq = app.seq
    ids = [[make_id("call_", next(seq), 24) for _ in calls] for _ in range(n)]
    per_choice = len(r_pieces) + len(content or refusal or ()) + sum(json_tokens(a) + 3 for _, a in calls)
    usage = None
    if "no-usage" not in scen:
        last_toks = message_tokens(msgs[-1])
        ptoks = 3 + sum(message_tokens(m) for m in msgs) + (json_tokens(tools) if tools else 0)
        cached = cached_tokens(app, msgs, tools, ptoks, last_toks)
        usage = usage_obj(ptoks, per_choice * n, len(r_pieces) * n, cached)
        if "cache-writes" in scen and not cached and ptoks - last_toks >= MIN_CACHEABLE_TOKENS:
            # An upstream that bills cache writes (OpenRouter in front of Anthropic) reports them.
            usage["prompt_tokens_details"]["cache_write_tokens"] = ptoks - last_toks
    cid = make_id("chatcmpl-", next(seq), 29)
    created = int(time.time())
    if stream:
        inc = so.get("include_usage") is True and usage is not None
        frames = chat_frames(
            cid,
            created,
            model,
            n,
            r_pieces,
            content,
            refusal,
            calls,
            ids,
            finish,
            usage if inc else None,
            inc,
            so.get("include_obfuscation") is not False,
        )
        return app.send_stream(req, frames, ERROR_FRAME, GARBAGE_FRAME)
    choices = []
    for i in range(n):
        msg = {
            "role": "assistant",
            "content": None if content is None else "".join(content),
            "refusal": None if refusal is None else "".join(refusal),
            "annotations": [],
        }
        if r_pieces:
            msg["reasoning_content"] = "".join(r_pieces)
        if calls:
            msg["tool_calls"] = [
                {"id": ids[i][j], "type": "function", "function": {"name": nm, "arguments": a}}
                for j, (nm, a) in enumerate(calls)
            ]
        choices.append({"index": i, "message": msg, "logprobs": None, "finish_reason": finish})
    out = {"id": cid, "object": "chat.completion", "created": created, "model": model, "choices": choices}
    if usage is not None:
        out["usage"] = usage
    out["service_tier"] = "default"
    out["system_fingerprint"] = FINGERPRINT
    return app.send_json(req, 200, out)


def chat_frames(cid, created, model, n, r_pieces, content, refusal, calls, ids, finish, usage, inc, obf):
    head = (
        b'data: {"id":"'
        + cid.encode()
        + b'","object":"chat.completion.chunk","created":%d,"model":' % created
        + orjson.dumps(model)
        + b',"service_tier":"default","system_fingerprint":"'
        + FINGERPRINT.encode()
        + b'","choices":['
    )
    tail = b',"usage":null' if inc else b""
    dumps = orjson.dumps
    frames = []
    add = frames.append

    def pad(size):
        return b',"obfuscation":"' + OBF[: 1 + (size * 7) % 12] + b'"' if obf else b""

    def chunk(i, delta, fin=b"null"):
        d = dumps(delta)
        add(
            head
            + b'{"index":%d,"delta":' % i
            + d
            + b',"logprobs":null,"finish_reason":'
            + fin
            + b"}]"
            + tail
            + pad(len(d))
            + b"}\n\n"
        )

    for i in range(n):
        hdrs = [
            {"index": j, "id": ids[i][j], "type": "function", "function": {"name": nm, "arguments": ""}}
            for j, (nm, _) in enumerate(calls)
        ]
        if refusal is not None:
            chunk(i, {"role": "assistant", "content": None, "refusal": ""})
        elif calls and not r_pieces:
            chunk(i, {"role": "assistant", "content": None, "tool_calls": hdrs[:1], "refusal": None})
        else:
            chunk(i, {"role": "assistant", "content": None if calls else "", "refusal": None})
        for p in r_pieces:
            chunk(i, {"reasoning_content": p})
        for p in content or ():
            chunk(i, {"content": p})
        for p in refusal or ():
            chunk(i, {"refusal": p})
        for j, (_, args) in enumerate(calls):
            if j or r_pieces:
                chunk(i, {"tool_calls": [hdrs[j]]})
            for piece in split_fixed(args):
                chunk(i, {"tool_calls": [{"index": j, "function": {"arguments": piece}}]})
        chunk(i, {}, b'"' + finish.encode() + b'"')
    if usage is not None:
        u = dumps(usage)
        add(head + b'],"usage":' + u + pad(len(u)) + b"}\n\n")
    add(DONE)
    return frames


# --------------------------------------------------------------------------- legacy completions


def completions(app, req):
    b = req.body
    model = b.get("model")
    if not isinstance(model, str) or not model:
        return invalid(app, req, "you must provide a model parameter")
    prompt = b.get("prompt", "<|endoftext|>")
    if isinstance(prompt, str):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(x, int) for x in prompt):
        prompts = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(x, (str, list)) for x in prompt):
        prompts = prompt
    else:
        return invalid(app, req, "Invalid 'prompt': expected a string or an array of strings or tokens.", "prompt")
    stream = b.get("stream") is True
    so = b.get("stream_options")
    if so is not None and not stream:
        return invalid(
            app, req, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
        )
    so = so if isinstance(so, dict) else {}
    n = b.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 128:
        return invalid(app, req, f"Invalid 'n': expected an integer between 1 and 128, got {n!r}.", "n")
    max_tokens = b.get("max_tokens")
    max_tokens = 16 if max_tokens is None else max_tokens
    stops = b.get("stop")
    stops = [stops] if isinstance(stops, str) else stops if isinstance(stops, list) else None
    echo = b.get("echo") is True
    scen = req.scen
    results = []
    ptoks = ctoks = 0
    for p in prompts:
        ptext = p if isinstance(p, str) else " ".join(map(str, p))
        ptoks += count_text(p) if isinstance(p, str) else len(p)
        if "echo-request" in scen:
            pieces, reason, _ = shape_text(req, req.raw.decode("utf-8", "replace"), stops, max_tokens, fixed=True)
        else:
            snippet = scan_text(ptext, {})[:40].strip() or "(empty)"
            pieces, reason, _ = shape_text(req, "Echo: " + snippet, stops, max_tokens)
        ctoks += len(pieces) * n
        results.append((ptext if echo else "", pieces, "length" if reason == "length" else "stop"))
    usage = (
        None
        if "no-usage" in scen
        else {"prompt_tokens": ptoks, "completion_tokens": ctoks, "total_tokens": ptoks + ctoks}
    )
    cid = make_id("cmpl-", next(app.seq), 29)
    created = int(time.time())
    if stream:
        inc = so.get("include_usage") is True and usage is not None
        return app.send_stream(
            req, completion_frames(cid, created, model, n, results, usage, inc), ERROR_FRAME, GARBAGE_FRAME
        )
    choices = [
        {"text": pre + "".join(pieces), "index": pi * n + j, "logprobs": None, "finish_reason": fin}
        for pi, (pre, pieces, fin) in enumerate(results)
        for j in range(n)
    ]
    out = {
        "id": cid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
        "system_fingerprint": FINGERPRINT,
    }
    if usage is not None:
        out["usage"] = usage
    return app.send_json(req, 200, out)


def completion_frames(cid, created, model, n, results, usage, inc):
    head = b'data: {"id":"' + cid.encode() + b'","object":"text_completion","created":%d,"choices":[' % created
    tail = b'],"model":' + orjson.dumps(model) + b',"system_fingerprint":"' + FINGERPRINT.encode() + b'"'
    null_usage = b',"usage":null' if inc else b""
    frames = []
    for pi, (pre, pieces, fin) in enumerate(results):
        for j in range(n):
            idx = pi * n + j
            for p in ([pre] if pre else []) + pieces:
                frames.append(
                    head + b'{"text":' + orjson.dumps(p) + b',"index":%d,"logprobs":null,'
                    b'"finish_reason":null}' % idx + tail + null_usage + b"}\n\n"
                )
            frames.append(
                head
                + b'{"text":"","index":%d,"logprobs":null,"finish_reason":"' % idx
                + fin.encode()
                + b'"}'
                + tail
                + null_usage
                + b"}\n\n"
            )
    if inc:
        frames.append(head + tail + b',"usage":' + orjson.dumps(usage) + b"}\n\n")
    frames.append(DONE)
    return frames


# --------------------------------------------------------------------------- embeddings, models


@lru_cache(maxsize=256)
def _vector(key: str, dims: int):
    return embedding_vector(key, dims)


def embeddings(app, req):
    b = req.body
    model = b.get("model")
    if not isinstance(model, str) or not model:
        return invalid(app, req, "you must provide a model parameter")
    inp = b.get("input")
    if inp is None:
        return invalid(app, req, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
    if isinstance(inp, str):
        items = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(x, int) for x in inp):
        items = [inp]
    elif isinstance(inp, list) and inp and all(isinstance(x, (str, list)) for x in inp):
        items = inp
    else:
        items = []
    if not items or any(not x for x in items):
        return invalid(
            app,
            req,
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
        )
    fmt = b.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        return invalid(
            app,
            req,
            f"Invalid value for 'encoding_format': '{fmt}'. Supported values are: 'float' and 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    dims = b.get("dimensions")
    if dims is None:
        dims = 3072 if "large" in model else 1536
    if not isinstance(dims, int) or not 1 <= dims <= 3072:
        return invalid(app, req, "Invalid 'dimensions': must be between 1 and 3072.", "dimensions")
    data = []
    ptoks = 0
    b64 = fmt == "base64"
    for i, it in enumerate(items):
        if isinstance(it, str):
            key = it
            ptoks += max(1, count_text(it))
        else:
            key = ",".join(map(str, it))
            ptoks += len(it)
        floats, encoded = _vector(key, dims)
        data.append({"object": "embedding", "index": i, "embedding": encoded if b64 else floats})
    out = {"object": "list", "data": data, "model": model}
    if "no-usage" not in req.scen:
        out["usage"] = {"prompt_tokens": ptoks, "total_tokens": ptoks}
    return app.send_json(req, 200, out)


def list_models(app, req):
    return app.send_json(req, 200, MODELS_BODY)


def get_model(app, req):
    return app.send_json(req, 200, model_obj(req.path[len("/models/") :]))


ROUTES = {
    ("POST", "/chat/completions"): (chat, chat_text),
    ("POST", "/completions"): (completions, completion_text),
    ("POST", "/embeddings"): (embeddings, embedding_text),
    ("GET", "/models"): (list_models, None),
    ("GET", "/models/{id}"): (get_model, None),
}
