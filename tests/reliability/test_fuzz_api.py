"""The live API against its own OpenAPI description, fuzzed with schemathesis.

The description is loaded from the running server (GET /openapi.json). For every
operation schemathesis sends the description's examples, then valid (positive)
and invalid (negative) requests, always with a valid key, and checks each answer:

* no 5xx, except the documented 502/503 (which lumyx-local never gives);
* the status, the content type and the body (JSON, or each event of a stream)
  are the ones the description documents for that operation;
* a request the description calls invalid is refused (4xx);
* no body ever carries a traceback or Python error text.

Generated ``model`` values are pinned to the free local models, so nothing is
spent upstream; the server runs with LUMYX_FREE_DAILY_LIMIT=0 so the free-model
daily cap stays out of the way. Generation is derandomized, so every run sends
the same requests (LUMYX_FUZZ_SEED and LUMYX_FUZZ_EXAMPLES make a different or
deeper run).

Requests the fuzzing never sends (no key, a wrong key, an unknown model, a body
over the limit) are checked against the description separately.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.servers import ROOT, LiveServer

pytestmark = pytest.mark.live

# Per operation and mode. Generation is derandomized (the same inputs every run) unless
# LUMYX_FUZZ_SEED is set; a deeper run: LUMYX_FUZZ_EXAMPLES=500 LUMYX_FUZZ_SEED=1.
MAX_EXAMPLES = int(os.environ.get("LUMYX_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("LUMYX_FUZZ_SEED")
MAX_BODY_BYTES = 256 * 1024  # small, so that a 413 is cheap to provoke
CHAT_MODEL = "lumyx-local"
EMBEDDING_MODEL = "lumyx-local-embed"

# What a leaked Python error looks like. Matched only when the request did not
# carry the same text (the local model echoes what it is sent).
PYTHON_ERROR = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]*\.py\", line \d+|site-packages|"
    + re.escape(str(ROOT))
    + r"|\b(?:AttributeError|TypeError|KeyError|IndexError|ValueError|NameError|OverflowError|"
    r"ZeroDivisionError|RecursionError|UnboundLocalError|AssertionError|sqlalchemy\.exc)\b"
    r"|object has no attribute|unhashable type|not subscriptable|NoneType|unsupported operand"
)


OPERATIONS = [
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/completions"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{id}"),
    ("GET", "/v1/health"),
    ("GET", "/v1/usage"),
    ("GET", "/v1/generation"),
    ("GET", "/v1/key"),
    ("POST", "/v1/responses"),
    ("GET", "/v1/responses/{response_id}"),
    ("DELETE", "/v1/responses/{response_id}"),
    ("GET", "/v1/responses/{response_id}/input_items"),
    ("GET", "/v1/personas"),
    ("POST", "/v1/personas"),
    ("GET", "/v1/personas/{slug}"),
    ("PATCH", "/v1/personas/{slug}"),
    ("DELETE", "/v1/personas/{slug}"),
    ("POST", "/v1/agents/chat/completions"),
]
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# Nothing to make invalid: no input at all, or a path parameter whose only invalid
# value (the empty string) cannot be sent.
NO_INVALID_INPUT = {
    ("GET", "/v1/models"),
    ("GET", "/v1/health"),
    ("GET", "/v1/key"),
    ("GET", "/v1/models/{id}"),
    ("DELETE", "/v1/responses/{response_id}"),
    ("GET", "/v1/personas/{slug}"),
    ("DELETE", "/v1/personas/{slug}"),
}
PINNED_MODELS = {
    "/v1/chat/completions": CHAT_MODEL,
    "/v1/completions": CHAT_MODEL,
    "/v1/embeddings": EMBEDDING_MODEL,
    "/v1/messages": CHAT_MODEL,
    "/v1/messages/count_tokens": CHAT_MODEL,
    # lumyx-local is a `local`-kind model: /responses reaches it through the chat translation.
    "/v1/responses": CHAT_MODEL,
    "/v1/personas": CHAT_MODEL,
    "/v1/personas/{slug}": CHAT_MODEL,
    "/v1/agents/chat/completions": CHAT_MODEL,
}


def _config() -> dict:
    return {
        "request-timeout": 30,
        # The key is attached by the test, never generated.
        "generation": {"with-security-parameters": False, "database": "none"},
        "checks": {
            # 502/503 are documented (upstream failures); lumyx-local never gives them.
            "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "503"]},
            # An invalid request may also be too large (413) or too long a URL (414).
            "negative_data_rejection": {"expected-statuses": ["400", "401", "404", "413", "414", "429"]},
        },
        # Every generated `model` names a free local model: nothing is spent upstream.
        "operations": [
            {"include-path": path, "parameters": {"body.model": model}} for path, model in PINNED_MODELS.items()
        ],
    }


@pytest.fixture(scope="module")
def fuzz_server(app, server_env, tmp_path_factory):
    """A server of its own, without the free-model daily cap (and with a small body limit)."""
    env = {**server_env, "LUMYX_FREE_DAILY_LIMIT": "0", "LUMYX_MAX_BODY_BYTES": str(MAX_BODY_BYTES)}
    server = LiveServer(env, tmp_path_factory.mktemp("fuzz-logs") / "gunicorn.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fuzz_key(app):
    """An enterprise account (no rate limits) with credits it should never spend."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"fuzz-{uuid.uuid4().hex[:10]}@example.com",
            "correct horse battery",
            plan="enterprise",
            credits_micro=100 * 1_000_000,
        )
        _row, key = keys.create_key(user, "fuzz")
        return key


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    """The description as the live server serves it."""
    config = schemathesis.Config.from_dict(_config())
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", config=config, timeout=10)


def no_python_error_text(ctx, response, case) -> None:
    """No traceback, source path or exception text in any answer."""
    sent = f"{case.body!r} {case.query!r} {case.path_parameters!r} {case.headers!r}"
    for match in PYTHON_ERROR.finditer(response.text):
        if match.group(0) not in sent:
            raise AssertionError(
                f"the {response.status_code} answer carries Python error text {match.group(0)!r}: {response.text[:500]}"
            )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _auth(path: str, key: str) -> dict:
    # Anthropic SDKs send x-api-key, OpenAI SDKs a bearer token: both are exercised.
    return {"x-api-key": key} if path.startswith("/v1/messages") else {"Authorization": f"Bearer {key}"}


def _exercise(case) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS, additional_checks=[no_python_error_text])


def test_the_description_is_served_without_a_key(fuzz_server):
    for path in ("/openapi.json", "/v1/openapi.json"):
        response = requests.get(fuzz_server.url + path, timeout=10)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("application/json")
        spec = response.json()
        assert spec["openapi"].startswith("3.1")
        assert {f"{method} {path}" for method, path in OPERATIONS} == {
            f"{method.upper()} {path}"
            for path, item in spec["paths"].items()
            for method in item
            if method in HTTP_METHODS
        }


@pytest.mark.parametrize("mode", ["examples", "positive", "negative"])
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_answers_as_its_description_says(api_schema, fuzz_key, method, path, mode):
    operation = api_schema[path][method]
    headers = _auth(path, fuzz_key)
    fuzz = settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    if mode == "examples":
        strategies = api_schema.get_strategies_from_examples(operation, headers=headers)
        if not strategies:
            pytest.skip("no examples")
        strategy = st.one_of(strategies)
        fuzz = settings(fuzz, max_examples=4 * len(strategies))
    elif mode == "negative" and (method, path) in NO_INVALID_INPUT:
        pytest.skip("no input that can be made invalid")
    else:
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode), headers=headers)

    @fuzz
    @given(case=strategy)
    def run(case):
        # A query string only holds text: an object or array "value" is sent as other
        # parameters or repeated ones, not as a wrong type; no point calling it invalid.
        assume(not any(isinstance(v, (dict, list)) for v in (case.query or {}).values()))
        _exercise(case)

    if SEED is not None:
        run = seed(int(SEED))(run)
    run()


MINIMAL_BODIES = {
    "/v1/chat/completions": {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/completions": {"model": CHAT_MODEL, "prompt": "hi"},
    "/v1/embeddings": {"model": EMBEDDING_MODEL, "input": "hi"},
    "/v1/messages": {"model": CHAT_MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/messages/count_tokens": {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/responses": {"model": CHAT_MODEL, "input": "hi"},
    "/v1/personas": {"name": "Fuzz", "model": CHAT_MODEL},
    "/v1/personas/{slug}": {"description": "hi"},
    "/v1/agents/chat/completions": {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]},
}
# A path parameter that names nothing: the operation's documented 404.
MISSING = {"id": "no-such/model", "response_id": "resp_missing", "slug": "no-such-persona"}
# Where `model` names no model: 404, but a persona's model is a field checked like the others (400).
UNKNOWN_MODEL_STATUS = {"/v1/personas": 400}
DOCUMENTED = [status_code_conformance, content_type_conformance, response_schema_conformance]


def _error_requests(method: str, path: str, key: str) -> list[tuple[dict, dict | None, dict | None, int]]:
    """(headers, body, path parameters, documented status) the fuzzing never sends."""
    body = MINIMAL_BODIES.get(path) if method in ("POST", "PATCH") else None
    names = re.findall(r"\{(\w+)\}", path)
    found = {name: CHAT_MODEL if name == "id" else MISSING[name] for name in names} or None
    requests_ = [
        ({}, body, found, 401),
        ({"x-api-key": "lx-not-a-key"}, body, found, 401),
        ({"Authorization": "Bearer lx-not-a-key"}, body, found, 401),
    ]
    if names:
        requests_.append((_auth(path, key), body, {name: MISSING[name] for name in names}, 404))
    if body and "model" in body:
        requests_.append(
            (_auth(path, key), {**body, "model": "no-such-model"}, None, UNKNOWN_MODEL_STATUS.get(path, 404))
        )
    if body and not names:
        requests_.append((_auth(path, key), {**body, "padding": "x" * MAX_BODY_BYTES}, None, 413))
    return requests_


KEYED = [op for op in OPERATIONS if op[1] != "/v1/health"]


@pytest.mark.parametrize("method, path", KEYED, ids=[f"{m} {p}" for m, p in KEYED])
def test_errors_the_fuzzing_does_not_reach_are_the_documented_ones(api_schema, fuzz_key, method, path):
    """No key, a wrong key (either header), a path naming nothing, an unknown model, a body over the limit: each
    answers the status and the error shape the description gives for that operation."""
    operation = api_schema[path][method]
    for headers, body, path_parameters, status in _error_requests(method, path, fuzz_key):
        case = operation.Case(
            headers=headers, path_parameters=path_parameters, **({"body": body} if body is not None else {})
        )
        response = case.call()
        assert response.status_code == status, (headers, response.text[:300])
        case.validate_response(response, checks=DOCUMENTED, additional_checks=[no_python_error_text])


# Inputs the fuzzing once turned into 500s; each now answers without a server error.
ONCE_SERVER_ERRORS = [
    # The local model builds tool arguments from schemas that are not well-formed.
    (
        "POST",
        "/v1/chat/completions",
        {
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": 5}}},
                }
            ]
        },
    ),
    (
        "POST",
        "/v1/chat/completions",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"properties": [1]}}}]},
    ),
    ("POST", "/v1/messages", {"tools": [{"name": "f", "input_schema": {"required": 5}}]}),
    # The Usage API: a page past a 64-bit offset, and dates whose local day boundary
    # falls outside years 1-9999.
    ("GET", "/v1/usage", {"page": "99999999999999999999"}),
    ("GET", "/v1/usage", {"end_date": "9999-12-31"}),
    ("GET", "/v1/usage", {"start_date": "0001-01-01T00:00:00+01:00"}),
]


@pytest.mark.parametrize(
    "method, path, extra", ONCE_SERVER_ERRORS, ids=[f"{m} {p} {i}" for i, (m, p, _) in enumerate(ONCE_SERVER_ERRORS)]
)
def test_inputs_that_once_gave_server_errors(fuzz_server, fuzz_key, method, path, extra):
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    if method == "GET":
        response = requests.get(fuzz_server.url + path, params=extra, headers=headers, timeout=10)
    else:
        body = {**MINIMAL_BODIES[path], **extra}
        response = requests.post(fuzz_server.url + path, json=body, headers=headers, timeout=10)
    assert response.status_code < 500, response.text
