"""The model page's and the admin page's "last 24 hours" count only what the
providers did: a request refused here (credits, a missing provider key) is
neither served nor an upstream error; a request no route could serve is."""

from __future__ import annotations

import uuid
from html import unescape

import pytest

from tests.conftest import _new_account


@pytest.fixture
def api(app):
    return app.test_client()


@pytest.fixture
def broke_key(app):
    """A key of an account without credits: priced models answer 402."""
    return _new_account(app, "broke", 0, "broke")[2]


def _chat(api, key: str, model: str):
    return api.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8},
        headers={"Authorization": f"Bearer {key}"},
    )


def _health(app, model_id: str, **facts):
    from lumyx.usage import health as model_health

    model_health.clear_cache()
    with app.app_context():
        return model_health.of(model_id, **facts)


def _models_row(html: str, model_id: str) -> str:
    return html[html.index(f'data-model-id="{model_id}"') :].split("</tr>")[0]


def test_a_model_without_a_provider_key_is_not_served_rather_than_failing(web, api, app, key, broke_key):
    for k in (key, broke_key):
        answer = _chat(api, k, "nokey-priced")
        assert answer.status_code == 503 and answer.get_json()["error"]["type"] == "model_unavailable"
    _health(app, "nokey-priced")  # the cache cleared
    html = unescape(web.get("/models/nokey-priced").get_data(as_text=True))
    card = html[html.index("Last 24 hours") :].split("</div>")[0]
    assert "Not served by this instance" in card
    assert "%" not in card, "neither 0 % nor 100 % served: no provider was ever asked"
    assert "refused before reaching a provider" in card and "no provider key" in card


def test_a_402_is_not_served(app, api, broke_key):
    before = _health(app, "gpt-5.2")
    for _ in range(3):
        assert _chat(api, broke_key, "gpt-5.2").status_code == 402
    after = _health(app, "gpt-5.2")
    assert after.requests == before.requests + 3
    assert after.success_rate == before.success_rate, "refused by credits: neither served nor failed"
    assert (after.upstream, after.refused) == (before.upstream, before.refused + 3)


def test_missing_key_503s_are_not_upstream_errors_but_failed_routes_are(admin, api, app, key):
    assert _chat(api, key, "nokey-chat").status_code == 503
    failing_before = _health(app, "failing-chat")
    assert _chat(api, key, "failing-chat").status_code == 502  # both routes answer 5xx
    failing = _health(app, "failing-chat")
    assert (failing.upstream, failing.upstream_errors) == (
        failing_before.upstream + 1,
        failing_before.upstream_errors + 1,
    )

    html = admin.get("/admin/providers").get_data(as_text=True)
    assert "upstream failures, missing keys" not in html
    assert "a provider key that is not set" in html and "counted apart" in html
    nokey = _models_row(html, "nokey-chat")
    cells = nokey.split('<td class="num">')[1:]
    assert [c.split("</td>")[0] for c in cells[:2]] == ["0", "0"], "no upstream outcome, no upstream error"
    assert "%" not in nokey
    row = _models_row(html, "failing-chat")
    assert f"{failing.error_rate * 100:.1f}%" in row and f'<td class="num">{failing.upstream_errors:,}</td>' in row


def test_connections_refused_on_a_keyed_model_are_upstream_errors(app, account):
    """A 503 model_unavailable that no provider answered is the routes failing when the
    model has a key, and a refusal here when it has none."""
    from lumyx.db import db
    from lumyx.db.models import UsageRecord
    from lumyx.db.models._types import utcnow

    model_id = "health-" + uuid.uuid4().hex[:8]
    with app.app_context():
        for status, code in ((200, None), (503, "model_unavailable"), (402, "insufficient_credits")):
            db.session.add(
                UsageRecord(
                    id="req_" + uuid.uuid4().hex,
                    user_id=account[0],
                    model_id=model_id,
                    provider_id="fake-openai" if status == 200 else None,
                    operation="chat",
                    status_code=status,
                    error_code=code,
                    latency_ms=40 if status == 200 else 2,
                    created_at=utcnow(),
                )
            )
        db.session.commit()
    keyed = _health(app, model_id, keyed=True)
    assert (keyed.requests, keyed.upstream, keyed.upstream_errors, keyed.refused) == (3, 2, 1, 1)
    assert keyed.success_rate == 0.5 and keyed.avg_latency_ms == 21, "the 402's latency is not the providers'"
    keyless = _health(app, model_id, keyed=False)
    assert (keyless.upstream, keyless.upstream_errors, keyless.refused) == (1, 0, 2)
