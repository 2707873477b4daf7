"""The usage page: cards, charts and the recent-activity table with filters and
HTMX pages, fed by lumyx.usage.report (the Usage API's report)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from html import unescape

import pytest


@pytest.fixture
def activity(app, user):
    """45 requests today on two models, and 5 ten days ago."""
    from lumyx.db import db
    from lumyx.db.models._types import utcnow
    from lumyx.usage import recording as usage

    now = utcnow()
    with app.app_context(), db.engine.begin() as conn:
        for i in range(50):
            old = i >= 45
            usage.record(
                conn,
                {
                    "id": f"req_{uuid.uuid4().hex}",
                    "user_id": user[0],
                    "api_key_id": None,
                    "model_id": "gpt-5.2" if i % 3 else "lumyx-local",
                    "provider_id": "fake-openai",
                    "operation": "chat",
                    "input_tokens": 100,
                    "output_tokens": 50,
                    "cost": 875 if i % 3 else 0,
                    "latency_ms": 40 + i,
                    "status_code": 502 if i == 7 else 200,
                    "thinking_used": i == 8,
                    "created_at": now - (timedelta(days=10) if old else timedelta(minutes=i)),
                },
            )
    return user


def test_cards_charts_and_recent_activity(signed_in, activity):
    response = signed_in.get("/dashboard/usage")
    assert response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    assert re.search(r'id="total-requests">50<', html)
    assert re.search(r'id="credits-available">25\.00<', html)
    charts = {
        name: json.loads(unescape(spec))
        for name, spec in re.findall(r'<canvas id="chart-(\w+)" data-chart=\'([^\']+)\'', html)
    }
    assert set(charts) == {"requests", "tokens", "cost", "models"}
    assert len(charts["requests"]["labels"]) == 30
    assert sum(charts["requests"]["datasets"][0]["data"]) == 50
    assert sum(charts["tokens"]["datasets"][0]["data"]) == 50 * 150
    assert charts["models"]["labels"][0] == "gpt-5.2" and sum(charts["models"]["datasets"][0]["data"]) == 50
    assert html.count('<tr data-request-id="') == 20
    assert "Page 1 of 3" in html and "502" in html and "reasoning" in html
    assert 'src="/static/vendor/chart-4.6.1.umd.min.js"' in html


def test_filters_and_htmx_pages(signed_in, activity):
    partial = signed_in.htmx("/dashboard/usage?model=lumyx-local")
    html = partial.get_data(as_text=True)
    assert html.startswith('<section id="activity"') and "<html" not in html
    assert "17 requests match the filters" in html
    assert set(re.findall(r"<code>([^<]+)</code>", html)) == {"lumyx-local"}

    page2 = signed_in.htmx("/dashboard/usage?page=2").get_data(as_text=True)
    assert page2.count('<tr data-request-id="') == 20 and "Page 2 of 3" in page2
    assert 'hx-get="/dashboard/usage?page=3"' in page2 and 'hx-push-url="true"' in page2

    from datetime import date
    from datetime import timedelta as td

    today = date.today()
    recent = signed_in.get(f"/dashboard/usage?start_date={(today - td(days=2)).isoformat()}").get_data(as_text=True)
    assert "45 requests match the filters" in recent
    old = signed_in.get(f"/dashboard/usage?end_date={(today - td(days=5)).isoformat()}&model=gpt-5.2")
    assert "3 requests match the filters" in old.get_data(as_text=True)
    assert 'value="gpt-5.2" selected' in old.get_data(as_text=True)


def test_a_bad_date_is_explained_not_a_crash(signed_in, activity):
    response = signed_in.get("/dashboard/usage?start_date=yesterday&model=gpt-5.2")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "must be an ISO 8601 date" in html and "requests match the filters" in html


def test_an_account_without_requests(signed_in):
    html = signed_in.get("/dashboard/usage").get_data(as_text=True)
    assert "No requests yet" in html and re.search(r'id="total-requests">0<', html)
    # Empty charts say so instead of drawing an axis from 0 to 1.
    assert "<canvas" not in html
    for name in ("requests", "tokens", "cost", "models"):
        assert f'id="chart-{name}-empty"' in html
