"""Scale-out: two instances (two gunicorn masters, two workers each) on one
PostgreSQL and one Redis, behind a real haproxy checking /v1/health/ready. What
one instance decides holds on the other: plan limits are exact across both; a
burst of priced requests on a small balance never overdraws it and the ledger
matches the usage rows; a key revoked on one stops working on the other within
LUMYX_AUTH_CACHE_SECONDS; a catalog loaded on one is served by the other within
LUMYX_CATALOG_REFRESH_SECONDS; and when one instance is killed (master and
workers, kill -9) mid-stream, haproxy serves on from the other and the dead
instance's holds are released uncharged by the survivor's janitor.

Only on PostgreSQL + Redis: several instances share those; SQLite is one machine."""

from __future__ import annotations

import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.balancer import books_of, settled_books, two_instances
from tests.support.catalog import catalog_yaml
from tests.support.servers import flask_cli

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"),
    reason="several instances share PostgreSQL and Redis; SQLite is one machine",
)

MICRO = 1_000_000
AUTH_CACHE_S = 2
CATALOG_REFRESH_S = 1
HOLD_REFRESH_S, HOLD_ORPHAN_S = 1, 4
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def scale_out(app, server_env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("scale-out")
    env = {
        **server_env,
        "LUMYX_LIMITS_FREE": "6/minute;1000/day",
        "LUMYX_AUTH_CACHE_SECONDS": str(AUTH_CACHE_S),
        "LUMYX_CATALOG_REFRESH_SECONDS": str(CATALOG_REFRESH_S),
        "LUMYX_HOLD_REFRESH_SECONDS": str(HOLD_REFRESH_S),
        "LUMYX_HOLD_ORPHAN_SECONDS": str(HOLD_ORPHAN_S),
        # Four workers on one PostgreSQL (max_connections 100) beside the suite's own server:
        # pools sized as the README asks, instances × workers × (size + overflow) well under it.
        "LUMYX_DB_POOL_SIZE": "4",
        "LUMYX_DB_MAX_OVERFLOW": "6",
    }
    with two_instances(env, logs) as (proxy, instances):
        yield proxy, instances, env, logs


def new_account(app, plan: str, credits: float) -> tuple[int, str, str]:
    from lumyx.accounts import keys
    from lumyx.accounts import users as accounts

    with app.app_context():
        user = accounts.create_user(
            f"scale-{uuid.uuid4().hex[:10]}@example.com", PASSWORD, plan=plan, credits_micro=int(credits * MICRO)
        )
        _row, key = keys.create_key(user, "scale-out")
        return user.id, user.email, key


def chat(url: str, key: str, model: str, content: str = "hello", **extra) -> requests.Response:
    return requests.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": content}], **extra},
        timeout=60,
    )


def test_a_plan_limit_is_exact_across_both_instances(app, scale_out):
    _proxy, instances, _env, _logs = scale_out
    _user, _email, key = new_account(app, "free", 0)
    urls = [instances["one"].url, instances["two"].url] * 7  # half to each instance, at once
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        statuses = list(pool.map(lambda url: chat(url, key, "lumyx-local").status_code, urls))
    assert sorted(statuses) == [200] * 6 + [429] * 8, "six a minute for a free key, wherever it is served"


def test_sixty_concurrent_priced_requests_never_overdraw(app, scale_out):
    proxy, _instances, _env, _logs = scale_out
    user_id, _email, key = new_account(app, "enterprise", 5)  # each hold is ~1.4 credits

    def one(_):
        response = chat(proxy.url, key, "gpt-5.2", "hello there [[scenario:slow:300]]", max_tokens=1000)
        return response.status_code, response.headers.get("x-request-id")

    with ThreadPoolExecutor(max_workers=60) as pool:
        results = list(pool.map(one, range(60)))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 402} and statuses.count(200) >= 3 and statuses.count(402) >= 1

    books = settled_books(app, user_id, requests=[request_id for _, request_id in results])
    assert books["holds"] == 0 and books["held"] == 0 and books["balance"] >= 0
    assert all(request_id in books["usage"] for _, request_id in results), "every request has its usage row"
    charged = [row for row in books["usage"].values() if row.cost]
    assert len(charged) == statuses.count(200)
    assert sum(row.cost for row in charged) == 5 * MICRO - books["balance"]
    assert books["ledger"] == books["balance"]


def test_a_key_revoked_on_one_instance_stops_working_on_the_other_within_the_cache_time(app, scale_out):
    from lumyx.accounts import keys

    _proxy, instances, _env, _logs = scale_out
    user_id, email, key = new_account(app, "enterprise", 1)
    with app.app_context():
        key_id = keys.list_keys(user_id)[0].id
    for url in (instances["one"].url, instances["two"].url) * 4:  # cached in the workers
        assert requests.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10).ok

    browser = requests.Session()
    one = instances["one"].url
    form = browser.get(one + "/login", timeout=10)
    logged_in = browser.post(
        one + "/login",
        data={"csrf_token": CSRF_RE.search(form.text)[1], "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302
    page = browser.get(one + "/dashboard/keys", timeout=10)
    revoked = browser.post(
        f"{one}/dashboard/keys/{key_id}/revoke",
        data={"csrf_token": CSRF_RE.search(page.text)[1]},
        allow_redirects=False,
        timeout=10,
    )
    assert revoked.status_code == 302
    revoked_at = time.monotonic()

    # Every worker looked the key up before the revoke, so each has forgotten it
    # once the cache time has passed since then: from then on, on either instance
    # and every worker, the key is refused.
    time.sleep(max(0.0, revoked_at + AUTH_CACHE_S + 0.2 - time.monotonic()))
    two = instances["two"].url
    for url in (one, two) * 4:
        assert (
            requests.get(url + "/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 401
        )


def test_a_catalog_loaded_on_one_instance_is_served_by_the_other_within_the_refresh_time(
    app, scale_out, upstream, tmp_path
):
    from lumyx.db import db
    from lumyx.db.models import CatalogModel

    _proxy, instances, env, _logs = scale_out
    _user, _email, key = new_account(app, "enterprise", 1)
    model_id = "scale-out-" + uuid.uuid4().hex[:6]
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        catalog_yaml(upstream.url)
        + f"""
  - id: {model_id}
    name: Added while serving
    pricing: {{input: 1.0, output: 2.0}}
    routes: [{{provider: fake-openai, model: gpt-added}}]
"""
    )
    two = instances["two"].url

    def looked_up() -> int:
        return requests.get(
            f"{two}/v1/models/{model_id}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        ).status_code

    assert looked_up() == 404
    try:
        flask_cli({**env, "LUMYX_CATALOG": str(catalog)}, "load-catalog", str(catalog))  # on instance one's host
        loaded_at = time.monotonic()
        while True:
            status = looked_up()
            elapsed = time.monotonic() - loaded_at
            if status == 200:
                break
            assert elapsed < CATALOG_REFRESH_S + 1, f"not served {elapsed:.1f}s after loading"
            time.sleep(0.05)
        # Each worker checks on its own clock: once the refresh time has passed since the load,
        # whichever of instance two's workers answers knows the model.
        time.sleep(max(0.0, loaded_at + CATALOG_REFRESH_S + 0.1 - time.monotonic()))
        for _ in range(6):
            assert looked_up() == 200
            assert chat(two, key, model_id, max_tokens=5).status_code == 200
    finally:
        with app.app_context():
            db.session.get(CatalogModel, model_id).enabled = False  # the rest of the suite's catalog
            db.session.commit()


def test_an_instance_killed_mid_stream_leaves_the_other_serving_and_its_holds_released_uncharged(app, scale_out):
    proxy, instances, _env, _logs = scale_out
    user_id, _email, key = new_account(app, "enterprise", 100)
    doomed = instances["one"]
    streams = []
    for _ in range(3):
        response = requests.post(
            doomed.url + "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "model": "gpt-5.2",
                "stream": True,
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "a long one [[scenario:stall:30000]]"}],
            },
            stream=True,
            timeout=60,
        )
        assert response.status_code == 200
        lines = response.iter_lines()  # kept open: closing it would close the connection
        for line in lines:
            if line.startswith(b"data:"):  # it is streaming
                break
        streams.append((response, lines))
    cut = {response.headers["x-request-id"] for response, _lines in streams}
    assert books_of(app, user_id)["holds"] == 3

    doomed.kill()
    # Requests in the instant before haproxy's checks find it dead may be answered 502;
    # once they have taken it out, the other instance serves every request.
    proxy.wait_until(lambda states: states["one"].startswith("DOWN"), "marking the killed instance down")
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: chat(proxy.url, key, "gpt-5.2", max_tokens=5).status_code, range(20)))
    assert statuses == [200] * 20, "haproxy serves every request from the instance left"
    for response, _lines in streams:
        response.close()

    books = settled_books(app, user_id, seconds=HOLD_REFRESH_S + HOLD_ORPHAN_S + 10)
    assert books["holds"] == 0 and books["held"] == 0, "the dead instance's holds are released"
    lost = [books["usage"][request_id] for request_id in cut]
    assert all(row.error_code == "worker_lost" and row.cost == 0 for row in lost), "uncharged"
    served = [row for request_id, row in books["usage"].items() if request_id not in cut]
    assert len(served) == 20 and all(row.cost > 0 for row in served)
    assert books["balance"] == 100 * MICRO - sum(row.cost for row in served)
    assert books["ledger"] == books["balance"]
