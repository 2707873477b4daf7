"""Model fallbacks in process: the ``models`` field read off the body (never
forwarded), each fallback checked up front, and the pipeline trying the models
in order until one serves — the answer then the model's that served. Free
models with no daily cap: no database; fake adapters: no network."""

from __future__ import annotations

import pytest

from lumyx.accounts.keys import KeyContext
from lumyx.billing import arithmetic
from lumyx.catalog.snapshot import Catalog, Route
from lumyx.errors import ApiError
from lumyx.gateway import pipeline
from lumyx.gateway.call import new_call
from lumyx.gateway.streams import DONE
from lumyx.providers.adapters import ADAPTERS
from lumyx.providers.base import UpstreamFailure
from lumyx.routing.preferences import Preferences
from lumyx.routing.request_fields import NOTHING_ASKED, Asked, resolve, take
from tests.unit.pipeline_support import KEY, FakeAdapter, chat_reply, chat_stream, model, provider
from tests.unit.pipeline_support import status_failure as failed

FIRST, SECOND, THIRD = (provider(name) for name in ("first", "second", "third"))
PRIMARY = model(Route(FIRST, "up-primary"), model_id="primary")
BACKUP = model(Route(SECOND, "up-backup"), Route(THIRD, "up-backup-3"), model_id="backup")
PLAIN = model(Route(THIRD, "up-plain"), model_id="plain", capabilities=())
CATALOG = Catalog({m.id: m for m in (PRIMARY, BACKUP, PLAIN)}, {p.id: p for p in (FIRST, SECOND, THIRD)}, None)


def checked(candidate) -> None:
    """The views' capability check of a request with tools."""
    if not candidate.supports("tools"):
        raise ApiError(400, "invalid_request", f"The model '{candidate.id}' does not support tools.", param="tools")


# -- reading the fields -----------------------------------------------------------------


def test_a_body_without_routing_fields_is_left_as_it_is():
    body = {"model": "primary", "messages": []}
    assert take(body) == (body, NOTHING_ASKED) and take(body)[0] is body


def test_the_routing_fields_are_lifted_off_the_body():
    body = {"model": "primary", "models": ["backup"], "provider": {"sort": "price"}, "route": "fallback", "x": 1}
    rest, asked = take(body)
    assert rest == {"model": "primary", "x": 1} and asked == Asked(("backup",), {"sort": "price"})
    assert "models" in body, "the client's body is not changed"


def test_without_a_model_the_first_of_models_is_the_model():
    rest, asked = take({"models": ["primary", "backup"], "messages": []})
    assert rest["model"] == "primary" and asked.models == ("backup",)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "models": "backup"}, "models"),
        ({"model": "m", "models": ["backup", 3]}, "models"),
        ({"model": "m", "models": [""]}, "models"),
        ({"model": "m", "models": [f"m{i}" for i in range(11)]}, "models"),
        ({"model": "m", "route": "sort"}, "route"),
    ],
)
def test_bad_routing_fields_are_400_naming_them(body, param):
    with pytest.raises(ApiError) as caught:
        take(body)
    assert (caught.value.status, caught.value.param) == (400, param)


def test_fallbacks_are_resolved_in_order_without_repeats():
    prefs, fallbacks = resolve(Asked(("backup", "primary", "backup")), CATALOG, KEY, PRIMARY, checked)
    assert prefs is None and fallbacks == (BACKUP,)


@pytest.mark.parametrize(
    ("models", "key", "status", "param", "says"),
    [
        (("backup", "nope"), KEY, 404, "models[1]", "The model 'nope' does not exist"),
        (("backup",), KeyContext(1, 1, "pro", "UTC", models=frozenset({"primary"})), 403, "models[0]", "'backup'"),
        (("plain",), KEY, 400, "models[0]", "The model 'plain' does not support tools."),
    ],
)
def test_each_fallback_is_checked_up_front(models, key, status, param, says):
    with pytest.raises(ApiError) as caught:
        resolve(Asked(models), CATALOG, key, PRIMARY, checked)
    assert (caught.value.status, caught.value.param) == (status, param) and says in caught.value.message


ARGS = (CATALOG, KEY, PRIMARY, checked)


def test_preferences_that_leave_no_model_a_route_are_400():
    with pytest.raises(ApiError) as caught:
        resolve(Asked(("backup",), {"order": ["first"], "allow_fallbacks": False, "ignore": ["first"]}), *ARGS)
    assert (caught.value.status, caught.value.param) == (400, "provider")


def test_preferences_that_leave_only_a_fallback_a_route_are_served_by_it():
    prefs, fallbacks = resolve(Asked(("backup",), {"only": ["second"]}), CATALOG, KEY, PRIMARY, checked)
    assert prefs.only == frozenset({"second"}) and fallbacks == (BACKUP,)


# -- the pipeline -------------------------------------------------------------------------


def serve(monkeypatch, upstream: FakeAdapter, body=None, prefs=None, fallbacks=(BACKUP,)):
    monkeypatch.setitem(ADAPTERS, "openai", upstream)
    body = body or {"model": "primary", "messages": [{"role": "user", "content": "hi"}]}
    the_call = new_call(
        KEY, PRIMARY, "chat", "openai", body, stream=body.get("stream") is True, preferences=prefs, fallbacks=fallbacks
    )
    return the_call, pipeline.serve(the_call, free_daily_limit=0)


def sent_to(upstream: FakeAdapter) -> list[tuple[str, str]]:
    return [(provider_id, body["model"]) for provider_id, _op, body in upstream.sent]


def test_the_first_model_serves_when_it_can(monkeypatch):
    upstream = FakeAdapter(first=chat_reply("from primary"))
    the_call, answer = serve(monkeypatch, upstream)
    assert answer["model"] == "primary" and the_call.input.model is PRIMARY
    assert sent_to(upstream) == [("first", "up-primary")]


def test_a_fallback_serves_when_the_model_cannot_and_the_answer_is_its(monkeypatch):
    upstream = FakeAdapter(first=failed(503), second=chat_reply("from backup"))
    the_call, answer = serve(monkeypatch, upstream)
    assert answer["model"] == "backup" and answer["choices"][0]["message"]["content"] == "from backup"
    assert the_call.input.model is BACKUP and the_call.outcome.route.model == "up-backup"
    assert sent_to(upstream) == [("first", "up-primary"), ("second", "up-backup")]


def test_a_fallback_serves_a_stream_before_any_byte_went_out(monkeypatch):
    upstream = FakeAdapter(first=UpstreamFailure("connect", "refused"), second=chat_stream("ba", "ck"))
    body = {"model": "primary", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    the_call, events = serve(monkeypatch, upstream, body)
    events = list(events)
    assert events[-1] is DONE and all(event["model"] == "backup" for event in events[:-1])
    assert the_call.input.model is BACKUP


def test_a_model_whose_upstream_rejected_the_request_gives_way_to_the_next_model(monkeypatch):
    upstream = FakeAdapter(first=failed(400), second=chat_reply())
    the_call, _answer = serve(monkeypatch, upstream)
    assert the_call.input.model is BACKUP


def test_every_model_failing_is_the_last_ones_error_and_the_call_stays_the_first_models(monkeypatch):
    upstream = FakeAdapter(first=failed(503), second=failed(429, retry_after="2"), third=failed(500))
    with pytest.raises(ApiError) as caught:
        serve(monkeypatch, upstream)
    assert (caught.value.status, caught.value.code) == (502, "upstream_error") and "'backup'" in caught.value.message
    assert sent_to(upstream) == [("first", "up-primary"), ("second", "up-backup"), ("third", "up-backup-3")]


def test_a_model_without_any_provider_key_is_passed_over(monkeypatch):
    monkeypatch.delenv("LUMYX_UNIT_NEVER_SET", raising=False)
    keyless = model(Route(provider("keyless", key_env="LUMYX_UNIT_NEVER_SET"), "up"), model_id="primary")
    upstream = FakeAdapter(second=chat_reply())
    monkeypatch.setitem(ADAPTERS, "openai", upstream)
    the_call = new_call(KEY, keyless, "chat", "openai", {"model": "primary", "messages": []}, fallbacks=(BACKUP,))
    assert pipeline.serve(the_call, free_daily_limit=0)["model"] == "backup"
    nothing = new_call(KEY, keyless, "chat", "openai", {"model": "primary", "messages": []})
    with pytest.raises(ApiError) as caught:
        pipeline.serve(nothing, free_daily_limit=0)
    assert caught.value.status == 503 and "LUMYX_UNIT_NEVER_SET" in caught.value.message


def test_preferences_arrange_each_models_routes(monkeypatch):
    upstream = FakeAdapter(first=failed(503), second=chat_reply(), third=chat_reply())
    the_call, _answer = serve(monkeypatch, upstream, prefs=Preferences(order=("third",)))
    assert sent_to(upstream) == [("first", "up-primary"), ("third", "up-backup-3")]


def test_a_model_the_preferences_leave_no_route_is_never_asked(monkeypatch):
    upstream = FakeAdapter(second=chat_reply())
    the_call, answer = serve(monkeypatch, upstream, prefs=Preferences(ignore=frozenset({"first", "third"})))
    assert answer["model"] == "backup" and sent_to(upstream) == [("second", "up-backup")]


def test_a_route_no_fallback_allows_is_not_tried(monkeypatch):
    upstream = FakeAdapter(first=failed(503), second=failed(503), third=chat_reply())
    prefs = Preferences(allow_fallbacks=False)
    with pytest.raises(ApiError):
        serve(monkeypatch, upstream, prefs=prefs)
    assert sent_to(upstream) == [("first", "up-primary"), ("second", "up-backup")]


# -- the hold covers the dearest ----------------------------------------------------------


def test_the_hold_is_for_the_dearest_model_a_request_may_be_served_by():
    cheap = model(model_id="cheap", price_input=100_000_000, price_output=200_000_000, max_output_tokens=1000)
    long_answers = model(model_id="long", price_input=100_000_000, price_output=200_000_000, max_output_tokens=8000)
    dear_prompt = model(model_id="prompt", price_input=900_000_000, price_output=200_000_000, max_output_tokens=1000)
    free = model(model_id="free")
    assert arithmetic.dearest([cheap], 100, None) is cheap
    assert arithmetic.dearest([free, cheap], 100, None) is cheap
    assert arithmetic.dearest([cheap, long_answers], 100, None) is long_answers
    assert arithmetic.dearest([cheap, long_answers], 100, 500) is cheap, "the asked limit caps both: a tie"
    assert arithmetic.dearest([long_answers, dear_prompt], 100_000, None) is dear_prompt
    assert arithmetic.dearest([free, model(model_id="free-2")], 100, None).id == "free"
