"""GET /v1/usage exactly as the docs describe it."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

MICRO = 1_000_000


@pytest.fixture
def used_account(app, live):
    """An account that made three free and two priced requests, one of which failed."""
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"usage-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery", plan="pro", credits_micro=20 * MICRO
        )
        _row, key = keys.create_key(user)
        user_id = user.id
    headers = {"Authorization": f"Bearer {key}"}
    ids = []
    for body in (
        {"model": "lumyx-local", "messages": [{"role": "user", "content": "one"}]},
        {"model": "lumyx-local", "messages": [{"role": "user", "content": "two"}]},
        {"model": "lumyx-local", "messages": [{"role": "user", "content": "three"}]},
        {
            "model": "gpt-5.2",
            "max_tokens": 50,
            "reasoning_effort": "low",
            "messages": [{"role": "user", "content": "four"}],
        },
        {
            "model": "gpt-5.2",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "five [[scenario:status-500]]"}],
        },
    ):
        ids.append(
            requests.post(live.url + "/v1/chat/completions", json=body, headers=headers, timeout=30).headers[
                "x-request-id"
            ]
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        report = requests.get(live.url + "/v1/usage", headers=headers, timeout=10).json()
        if report["summary"]["total_requests"] == 5:
            break
        time.sleep(0.1)
    return user_id, key, headers, ids


def usd(micro: int) -> float:
    """µcr as USD to six decimals, half a millionth rounding up."""
    return float((Decimal(micro) / (100 * MICRO)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


def usage(live, headers, **params):
    return requests.get(live.url + "/v1/usage", headers=headers, params=params, timeout=10)


def test_the_documented_shape(live, used_account, app):
    user_id, _key, headers, ids = used_account
    report = usage(live, headers).json()
    assert list(report) == [
        "object",
        "account",
        "free_model_daily_limit",
        "summary",
        "daily",
        "by_model",
        "recent_activity",
        "pagination",
    ]
    assert report["object"] == "usage"
    assert report["account"]["vip_tier"] == 1
    free = report["free_model_daily_limit"]
    assert (free["limit"], free["used"], free["remaining"], free["timezone"]) == (50, 3, 47, "America/New_York")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00\.000Z", free["resets_at"])
    summary = report["summary"]
    assert summary["total_requests"] == 5
    assert summary["total_tokens"] == summary["total_prompt_tokens"] + summary["total_completion_tokens"] > 0
    assert isinstance(summary["avg_latency_ms"], int)
    from sqlalchemy import select

    from lumyx.db import db
    from lumyx.db.models import UsageRecord, User

    with app.app_context():
        rows = db.session.scalars(select(UsageRecord).where(UsageRecord.user_id == user_id)).all()
        user = db.session.get(User, user_id)
    # Costs are USD (100 credits = 1 USD, 1 credit = 1,000,000 µcr), to six decimals.
    assert summary["total_cost"] == usd(sum(r.cost for r in rows)) > 0
    assert summary["total_prompt_tokens"] == sum(r.input_tokens for r in rows)
    assert report["account"]["credits_remaining"] == round((user.balance - user.held) / MICRO, 6)
    assert report["account"]["credits_remaining"] == pytest.approx(20 - summary["total_cost"] * 100, abs=1e-4)

    daily = report["daily"]
    today = datetime.now(ZoneInfo("America/New_York")).date()
    assert [d["date"] for d in daily] == [(today - timedelta(days=29 - i)).isoformat() for i in range(30)]
    assert daily[-1]["requests"] == 5 and sum(d["requests"] for d in daily[:-1]) == 0
    assert daily[-1]["tokens"] == summary["total_tokens"] and daily[-1]["cost"] == summary["total_cost"]

    by_model = {m["model_id"]: m for m in report["by_model"]}
    assert by_model["lumyx-local"]["requests"] == 3 and by_model["lumyx-local"]["cost"] == 0
    assert by_model["gpt-5.2"]["requests"] == 2 and by_model["gpt-5.2"]["cost"] == summary["total_cost"]

    recent = report["recent_activity"]
    assert [r["id"] for r in recent] == ids[::-1], "newest first"
    assert set(recent[0]) == {
        "id",
        "model_id",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "cost",
        "latency_ms",
        "status_code",
        "thinking_used",
        "created_at",
    }
    assert recent[0]["status_code"] == 502 and recent[0]["cost"] == 0
    assert recent[1]["thinking_used"] is True and recent[1]["cost"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", recent[0]["created_at"])
    assert report["pagination"] == {"page": 1, "limit": 50, "total": 5, "total_pages": 1}


def test_filters_and_pagination(live, used_account):
    _user_id, _key, headers, ids = used_account
    only_gpt = usage(live, headers, model="gpt-5.2").json()
    assert only_gpt["summary"]["total_requests"] == 2
    assert {r["model_id"] for r in only_gpt["recent_activity"]} == {"gpt-5.2"}
    assert len(only_gpt["daily"]) == 30 and only_gpt["daily"][-1]["requests"] == 5, "daily ignores filters"

    page2 = usage(live, headers, limit=2, page=2).json()
    assert [r["id"] for r in page2["recent_activity"]] == ids[::-1][2:4]
    assert page2["pagination"] == {"page": 2, "limit": 2, "total": 5, "total_pages": 3}

    today = datetime.now(ZoneInfo("America/New_York")).date()
    future = usage(live, headers, start_date=(today + timedelta(days=1)).isoformat()).json()
    assert future["summary"]["total_requests"] == 0 and future["recent_activity"] == []
    window = usage(live, headers, start_date=today.isoformat(), end_date=today.isoformat()).json()
    assert window["summary"]["total_requests"] == 5
    past = usage(live, headers, end_date=(today - timedelta(days=1)).isoformat()).json()
    assert past["summary"]["total_requests"] == 0
    now = datetime.utcnow()
    instant = usage(live, headers, start_date=(now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")).json()
    assert instant["summary"]["total_requests"] == 5


@pytest.mark.parametrize(
    "params, param",
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-45"}, "end_date"),
        ({"start_date": "2026-03-10", "end_date": "2026-03-01"}, "end_date"),
        ({"limit": "500"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
    ],
)
def test_bad_filters_are_400(live, key, params, param):
    response = usage(live, {"Authorization": f"Bearer {key}"}, **params)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request" and response.json()["error"]["param"] == param


def test_an_account_sees_only_its_own_usage(live, used_account, key):
    other = usage(live, {"x-api-key": key}).json()
    assert other["summary"]["total_requests"] == 0 and other["recent_activity"] == []


def test_usage_needs_a_key(live):
    assert requests.get(live.url + "/v1/usage", timeout=5).status_code == 401
    assert requests.get(live.url + "/api/v1/usage", timeout=5).status_code == 401


@pytest.mark.parametrize("tokens, usd", [(150 + 300, 0.002250), (500_000, 2.500000), (1, 0.000005), (0, 0.0)])
def test_costs_are_usd_to_six_decimals_as_the_docs_example(tokens, usd):
    """The docs: 150 + 300 tokens of a $5-per-1M model cost 0.002250; 500,000 tokens 2.500000."""
    from lumyx import money
    from lumyx.usage.report import _usd

    assert _usd(money.cost_micro(tokens, 0, money.usd_price_to_micro(5), 0)) == usd
