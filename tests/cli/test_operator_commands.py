"""The contract's Flask CLI commands, run as an operator runs them."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.servers import flask_cli


def email() -> str:
    return f"op-{uuid.uuid4().hex[:10]}@example.com"


def balance_of(app, address: str) -> int:
    from lumyx.accounts import users as accounts

    with app.app_context():
        return accounts.require_by_email(address).balance


def test_create_user_and_key_then_call_the_api(app, server_env, live):
    address = email()
    result = flask_cli(
        server_env, "create-user", address, "--password", "pw-12345678", "--plan", "pro", "--credits", "25"
    )
    assert result.returncode == 0
    assert balance_of(app, address) == 25 * 1_000_000
    result = flask_cli(server_env, "create-key", address, "--name", "ci")
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lx-") and len(key) >= 3 + 22, "at least 128 random bits"
    response = requests.get(live.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert response.status_code == 200


def test_keys_are_stored_only_as_hashes(app, server_env):
    address = email()
    flask_cli(server_env, "create-user", address, "--password", "pw-12345678")
    key = flask_cli(server_env, "create-key", address).stdout.strip().splitlines()[-1]
    from sqlalchemy import select

    from lumyx.db import db
    from lumyx.db.models import ApiKey

    with app.app_context():
        rows = db.session.execute(select(ApiKey.prefix, ApiKey.key_hash)).all()
    assert all(key not in (prefix, digest) and key[3:] not in digest for prefix, digest in rows)
    assert any(key.startswith(prefix) for prefix, _ in rows)


def test_add_credits_goes_through_the_ledger(app, server_env):
    address = email()
    flask_cli(server_env, "create-user", address, "--password", "pw-12345678", "--credits", "10")
    assert flask_cli(server_env, "add-credits", address, "5.5", "--note", "goodwill").returncode == 0
    assert flask_cli(server_env, "add-credits", address, "-3").returncode == 0
    assert balance_of(app, address) == 12_500_000
    below = flask_cli(server_env, "add-credits", address, "-100", check=False)
    assert below.returncode != 0 and "below zero" in below.stderr
    assert balance_of(app, address) == 12_500_000

    from sqlalchemy import func, select

    from lumyx.db import db
    from lumyx.db.models import LedgerEntry, User

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == address))
        total = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.user_id == user_id))
    assert total == 12_500_000


def test_bad_input_exits_non_zero_with_one_line(server_env):
    address = email()
    flask_cli(server_env, "create-user", address, "--password", "pw-12345678")
    cases = [
        (("create-user", address, "--password", "pw-12345678"), "already exists"),
        (("create-user", email(), "--password", "pw-12345678", "--plan", "gold"), "unknown plan"),
        (("create-user", "not-an-email", "--password", "pw-12345678"), "not a valid email"),
        (("create-user", "<script>alert(1)</script>@x.io", "--password", "pw-12345678"), "not a valid email"),
        (("create-user", '"<b>"@x.io', "--password", "pw-12345678"), "not a valid email"),
        (("create-user", "Ann <ann@x.io>", "--password", "pw-12345678"), "not a valid email"),
        (("create-user", email(), "--password", "short"), "at least 8"),
        (("create-key", "nobody@example.com"), "no user"),
        (("add-credits", "nobody@example.com", "5"), "no user"),
        (("add-credits", address, "lots"), "bad amount"),
        (("add-credits", address, "0"), "must not be zero"),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:  # each command is a process of its own
        results = list(pool.map(lambda case: flask_cli(server_env, *case[0], check=False), cases))
    for (args, needle), result in zip(cases, results, strict=True):
        assert result.returncode != 0, args
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and needle in lines[0], (args, result.stderr)


def test_load_catalog_names_the_bad_field(server_env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "providers: [{id: p, kind: local}]\nmodels:\n  - {id: m, routes: [{provider: p}], pricing: {input: -1}}\n"
    )
    result = flask_cli(server_env, "load-catalog", str(bad), check=False)
    assert result.returncode != 0
    assert "models[0].pricing.input" in result.stderr
    missing = flask_cli(server_env, "load-catalog", str(tmp_path / "nope.yaml"), check=False)
    assert missing.returncode != 0 and "cannot read" in missing.stderr


def test_load_catalog_upserts_and_the_server_sees_it(server_env, live, key, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("models:\n  - id: extra-local\n    name: Extra\n    routes: [{provider: local, model: x}]\n")
    assert flask_cli(server_env, "load-catalog", str(extra)).returncode == 0
    assert flask_cli(server_env, "load-catalog", str(extra)).returncode == 0, "idempotent"
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = requests.get(live.url + "/v1/models/extra-local", headers={"x-api-key": key}, timeout=5)
        if response.status_code == 200:
            break
        time.sleep(0.3)
    assert response.status_code == 200 and response.json()["name"] == "Extra"


def test_prepare_ensures_the_admin_and_is_idempotent(app, server_env):
    address = email()
    env = {**server_env, "LUMYX_ADMIN_EMAIL": address, "LUMYX_ADMIN_PASSWORD": "admin-pass-1"}
    assert flask_cli(env, "prepare").returncode == 0
    assert flask_cli(env, "prepare").returncode == 0
    assert flask_cli(env, "db", "upgrade").returncode == 0
    from lumyx.accounts import users as accounts

    with app.app_context():
        assert accounts.require_by_email(address).is_admin


def test_flask_db_has_the_migration_commands_and_the_models_match_them(app, server_env):
    """`flask db` is Flask-Migrate's group, loaded when it runs (no worker imports alembic)."""
    listed = flask_cli(server_env, "db", "--help").stdout
    assert "-d, --directory" in listed and all(name in listed for name in ("upgrade", "downgrade", "current", "check"))
    assert flask_cli(server_env, "db", "current").stdout.strip().endswith("(head)")
    assert "No new upgrade operations detected." in flask_cli(server_env, "db", "check").stdout
    unknown = flask_cli(server_env, "db", "upgrayde", check=False)
    assert unknown.returncode == 2 and "No such command 'upgrayde'" in unknown.stderr


def test_create_key_with_a_limit_an_allowlist_and_an_expiry(app, server_env, live):
    address = email()
    flask_cli(server_env, "create-user", address, "--password", "pw-12345678", "--credits", "50")
    result = flask_cli(
        server_env,
        "create-key",
        address,
        "--name",
        "contractor",
        "--limit",
        "12.5",
        "--models",
        "lumyx-local, gpt-5.2",
        "--expires-days",
        "7",
    )
    assert result.returncode == 0
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lx-") and "12.50 credits" in result.stdout
    headers = {"Authorization": f"Bearer {key}"}
    data = requests.get(live.url + "/v1/key", headers=headers, timeout=5).json()["data"]
    assert data["label"] == "contractor" and data["limit"] == 0.125 and data["models"] == ["lumyx-local", "gpt-5.2"]
    from datetime import UTC, datetime, timedelta

    expires = datetime.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)
    refused = requests.post(
        live.url + "/v1/chat/completions",
        json={"model": "plain-chat", "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
        timeout=10,
    )
    assert refused.status_code == 403


def test_create_key_refuses_bad_limits_in_one_line(app, server_env):
    address = email()
    flask_cli(server_env, "create-user", address, "--password", "pw-12345678")
    cases = (
        (["--limit", "ten"], "bad limit 'ten'"),
        (["--limit", "0"], "bad limit '0'"),
        (["--limit", "-5"], "bad limit '-5'"),
        (["--limit", "0.0000001"], "at most 6 decimal places"),
        (["--models", "gpt-5.2,no-such-model"], "unknown model: no-such-model"),
        (["--models", " , "], "bad models"),
        (["--expires-days", "0"], "bad expiry '0'"),
        (["--expires-days", "1.5"], "a whole number of days"),
        (["--expires-days", "99999999"], "bad expiry"),
    )
    with ThreadPoolExecutor(max_workers=4) as pool:  # each command is a process of its own
        results = list(
            pool.map(lambda case: flask_cli(server_env, "create-key", address, *case[0], check=False), cases)
        )
    for (args, reason), result in zip(cases, results, strict=True):
        assert result.returncode != 0, args
        error_lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        assert len(error_lines) == 1 and reason in error_lines[0], (args, result.stderr)
        assert "lx-" not in result.stdout
    unknown = flask_cli(server_env, "create-key", "nobody-" + address, "--limit", "5", check=False)
    assert unknown.returncode != 0 and "lx-" not in unknown.stdout
