"""Admin: users (search, plan, credits through the ledger with a note), providers
and models with their health."""

from __future__ import annotations

import re
import uuid

from lumyx.db.models._types import utcnow


def test_search_users(admin, make_user):
    tag = uuid.uuid4().hex[:8]
    make_user(email=f"alice-{tag}@example.com", credits=3)
    make_user(email=f"bob-{tag}@example.com")
    html = admin.get(f"/admin/users?q={tag}").get_data(as_text=True)
    assert "2 users match" in html and f"alice-{tag}@example.com" in html and "3.00" in html
    partial = admin.htmx(f"/admin/users?q=ALICE-{tag}").get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="users"') and "1 user match" in partial
    assert f"bob-{tag}" not in partial
    assert "0 users match" in admin.get("/admin/users?q=%25_%25").get_data(as_text=True), "LIKE wildcards are literal"


def test_change_a_plan(admin, make_user, app):
    user_id, email = make_user()
    response = admin.post_form(f"/admin/users/{user_id}/plan", {"plan": "pro"}, token_from=f"/admin/users/{user_id}")
    assert response.status_code == 303
    html = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert f"{email} is now on the pro plan" in html

    from lumyx.db import db
    from lumyx.db.models import User

    with app.app_context():
        assert db.session.get(User, user_id).plan == "pro"
    bad = admin.post_form(f"/admin/users/{user_id}/plan", {"plan": "platinum"}, token_from=f"/admin/users/{user_id}")
    assert bad.status_code == 400


def test_adjust_credits_through_the_ledger(admin, make_user, app):
    user_id, email = make_user(credits=10)
    page = f"/admin/users/{user_id}"
    response = admin.post_form(f"{page}/credits", {"amount": "40.5", "note": "support refund"}, token_from=page)
    assert response.status_code == 303
    html = admin.get(page).get_data(as_text=True)
    assert re.search(r'id="user-available">50\.50<', html) and "support refund (by " in html

    response = admin.post_form(f"{page}/credits", {"amount": "-60", "note": "too much"}, token_from=page)
    assert response.status_code == 400 and "below zero" in response.get_data(as_text=True)
    for amount, note, message in (
        ("abc", "x", "Bad amount"),
        ("0", "x", "must not be zero"),
        ("5", "", "This field is required"),
    ):
        response = admin.post_form(f"{page}/credits", {"amount": amount, "note": note}, token_from=page)
        assert response.status_code == 400 and message in response.get_data(as_text=True), amount

    from sqlalchemy import select

    from lumyx.db import db
    from lumyx.db.models import LedgerEntry, User

    with app.app_context():
        user = db.session.get(User, user_id)
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.user_id == user_id)).all()
        assert user.balance == 50_500_000 == sum(e.amount for e in entries)
        assert entries[-1].kind == "grant" and entries[-1].note.startswith("support refund (by ")


def test_unknown_users_are_404(admin):
    assert admin.get("/admin/users/999999").status_code == 404


def test_providers_and_models_with_their_health(admin, app, account):
    from lumyx.db import db
    from lumyx.db.models import UsageRecord
    from lumyx.usage import health as model_health

    with app.app_context():
        for status, code in (
            (200, None),
            (502, "upstream_error"),
            (503, "model_unavailable"),
            (402, "insufficient_credits"),
        ):
            db.session.add(
                UsageRecord(
                    id="req_" + uuid.uuid4().hex,
                    user_id=account[0],
                    model_id="failing-chat",
                    provider_id="fake-openai" if status == 200 else None,
                    operation="chat",
                    status_code=status,
                    error_code=code,
                    latency_ms=10,
                    created_at=utcnow(),
                )
            )
        db.session.commit()
    model_health.clear_cache()
    html = admin.get("/admin/providers").get_data(as_text=True)
    with app.app_context():
        health = model_health.of("failing-chat")  # other suites may have used the model too
    assert health.upstream >= 3 and health.upstream_errors >= 2 and health.refused >= 1
    keyless = html[html.index('data-provider-id="keyless"') :].split("</tr>")[0]
    assert "LUMYX_TEST_NEVER_SET_KEY missing" in keyless
    assert "FAKE_OPENAI_KEY set" in html and "None needed" in html
    failing = html[html.index('data-model-id="failing-chat"') :].split("</tr>")[0]
    assert f"{health.error_rate * 100:.1f}%" in failing
    assert f'<td class="num">{health.upstream:,}</td>' in failing
    assert f'<td class="num">{health.upstream_errors:,}</td>' in failing
    assert f'<td class="num">{health.refused:,}</td>' in failing
    nokey = html[html.index('data-model-id="nokey-chat"') :].split("</tr>")[0]
    assert "No key" in nokey
