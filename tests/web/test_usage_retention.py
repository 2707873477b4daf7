"""Usage rows past LUMYX_USAGE_RETENTION_DAYS (90 here, the default) are deleted by
the janitor's pass, while the Usage API and the dashboard answer exactly as before
for the old period, from the hourly rollups; recent rows are untouched."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest

OLD, RECENT = 30, 6


@pytest.fixture
def history(app, make_user):
    """An enterprise account with a key: 30 requests 100 days ago (over four hours, two
    models), 6 in the last hour; written by the recording path (row and rollup)."""
    from lumyx.accounts import keys
    from lumyx.db import db
    from lumyx.db.models import User
    from lumyx.db.models._types import utcnow
    from lumyx.usage import recording

    user_id, _email = make_user(credits=10, plan="enterprise")
    now = utcnow()
    old_start = now - timedelta(days=100)
    rows = []
    for i in range(OLD + RECENT):
        old = i < OLD
        rows.append(
            {
                "id": f"req_{uuid.uuid4().hex}",
                "user_id": user_id,
                "api_key_id": None,
                "model_id": "gpt-5.2" if i % 3 else "lumyx-local",
                "provider_id": "fake-openai",
                "operation": "chat",
                "input_tokens": 100 + i,
                "output_tokens": 50 + 2 * i,
                "cost": 875 * i if i % 3 else 0,
                "latency_ms": 40 + i,
                "status_code": 200,
                "created_at": old_start + timedelta(minutes=8 * i, seconds=13) if old else now - timedelta(minutes=i),
            }
        )
    with app.app_context():
        with db.engine.begin() as conn:
            for row in rows:
                recording.record(conn, row)
        _key_row, key = keys.create_key(db.session.get(User, user_id))
    return user_id, key, rows


def _old_days(rows) -> tuple[str, str]:
    zone = ZoneInfo("America/New_York")
    local = [r["created_at"].replace(tzinfo=UTC).astimezone(zone).date() for r in rows[:OLD]]
    return min(local).isoformat(), max(local).isoformat()


def _answers(app, web, key, rows) -> dict:
    """What the account sees: the Usage API for everything, the old days and one
    model; the dashboard's cards and charts for the same."""
    start, end = _old_days(rows)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    answers = {}
    for name, query in {
        "all": {},
        "old days": {"start_date": start, "end_date": end},
        "old instants": {"start_date": rows[3]["created_at"].isoformat() + "Z"},
        "model": {"model": "gpt-5.2"},
    }.items():
        response = api.get("/v1/usage", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        answers["api " + name] = {k: body[k] for k in ("summary", "daily", "by_model", "pagination")}
        html = web.get("/dashboard/usage", query_string=query).get_data(as_text=True)
        answers["page " + name] = {
            "cards": re.findall(r'id="(total-[a-z]+)">([^<]+)<', html),
            "charts": {
                chart: json.loads(unescape(spec))
                for chart, spec in re.findall(r'<canvas id="chart-(\w+)" data-chart=\'([^\']+)\'', html)
            },
            "note": "activity-retention" in html,
        }
    return answers


def _rows_left(app, user_id: int) -> list[str]:
    from sqlalchemy import select

    from lumyx.db import db
    from lumyx.db.models import UsageRecord

    with app.app_context():
        ids = list(db.session.scalars(select(UsageRecord.id).where(UsageRecord.user_id == user_id)))
        db.session.rollback()
    return ids


def test_old_rows_go_and_the_answers_stay_exact(app, web, history):
    from lumyx.usage import retention

    user_id, key, rows = history
    web.login_as(user_id)
    before = _answers(app, web, key, rows)

    old = before["api old days"]
    assert old["summary"]["total_requests"] == OLD
    assert old["summary"]["total_prompt_tokens"] == sum(r["input_tokens"] for r in rows[:OLD])
    assert old["summary"]["total_completion_tokens"] == sum(r["output_tokens"] for r in rows[:OLD])
    micro = sum(r["cost"] for r in rows[:OLD])
    assert old["summary"]["total_cost"] == round(micro / 100_000_000, 6) > 0
    assert {m["model_id"]: m["requests"] for m in old["by_model"]} == {"gpt-5.2": 20, "lumyx-local": 10}
    # Their detail is past the retention: counted, not listed, and the answer says from when it is.
    assert old["pagination"]["total"] == 0 and old["pagination"]["details_since"].endswith(":00:00.000Z")
    assert before["api all"]["summary"]["total_requests"] == OLD + RECENT
    assert before["api all"]["pagination"]["total"] == RECENT
    # A date-time bound inside the old period counts from the start of its hour.
    hour = rows[3]["created_at"].replace(minute=0, second=0, microsecond=0)
    from_hour = sum(1 for r in rows if r["created_at"] >= hour)
    assert before["api old instants"]["summary"]["total_requests"] == from_hour >= RECENT + OLD - 3
    assert before["page old days"]["cards"][0] == ("total-requests", str(OLD)) and before["page old days"]["note"]

    with app.app_context():
        # Another worker is deleting: this one skips the round.
        from lumyx.db import db

        with db.engine.connect() as conn, retention._sole_runner(conn) as held:
            assert held
            assert retention.delete_old_usage(batch=7, pause_s=0) == 0
        assert len(_rows_left(app, user_id)) == OLD + RECENT
        assert retention.delete_old_usage(days=0) == 0, "0 keeps usage rows forever"
        deleted = retention.delete_old_usage(batch=7, pause_s=0)
    assert deleted >= OLD
    assert sorted(_rows_left(app, user_id)) == sorted(r["id"] for r in rows[OLD:]), "recent rows are untouched"
    assert _answers(app, web, key, rows) == before

    api = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    gone = api.get("/v1/generation", headers=headers, query_string={"id": rows[0]["id"]})
    assert gone.status_code == 404 and gone.get_json()["error"]["type"] == "not_found"
    kept = api.get("/v1/generation", headers=headers, query_string={"id": rows[-1]["id"]})
    assert kept.status_code == 200 and kept.get_json()["data"]["tokens_prompt"] == rows[-1]["input_tokens"]


def test_a_row_past_the_horizon_is_not_listed_before_its_deletion(app, history):
    """Until the janitor's next round the old rows are still stored; the answers
    are already those of after it."""
    user_id, key, rows = history
    api = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    listed = api.get("/v1/usage", headers=headers, query_string={"limit": 100}).get_json()["recent_activity"]
    assert [r["id"] for r in listed] == [r["id"] for r in rows[OLD:]]
    old = api.get("/v1/generation", headers=headers, query_string={"id": rows[OLD - 1]["id"]})
    assert old.status_code == 404


@pytest.mark.parametrize("raw, expected", [("", 90), ("0", 0), ("365", 365)])
def test_the_setting(monkeypatch, raw, expected):
    from lumyx import config

    monkeypatch.setenv("LUMYX_USAGE_RETENTION_DAYS", raw)
    assert config.from_environment()["LUMYX_USAGE_RETENTION_DAYS"] == expected


@pytest.mark.parametrize("raw", ["-1", "ninety", "1.5"])
def test_a_bad_setting_stops_the_server(monkeypatch, raw):
    from lumyx import config

    monkeypatch.setenv("LUMYX_USAGE_RETENTION_DAYS", raw)
    with pytest.raises(SystemExit, match="LUMYX_USAGE_RETENTION_DAYS"):
        config.from_environment()
