"""The usage page says what the Usage API says: requests sent to the live server,
then every figure of the page (totals, balance, by model, each request, the charts)
against ``GET /api/v1/usage``, and a request's detail against ``GET /api/v1/generation``."""

from __future__ import annotations

import json
import re
import time
from html import unescape

import pytest
import requests

from lumyx.web.dashboard import figures
from tests.web.support import WebClient

pytestmark = pytest.mark.live

PAID, FREE = "gpt-5.2", "lumyx-local"


def _ask(live, key: str, model: str, text: str) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    answer = requests.post(
        live.url + "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return answer.headers["x-request-id"]


def _api(live, key: str, path: str) -> requests.Response:
    return requests.get(live.url + "/api/v1" + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def used(app, live):
    """An account that made three requests (two paid, one free), once every one is recorded:
    (user id, key, request ids, the Usage API's report)."""
    from tests.conftest import _new_account

    user_id, _email, key = _new_account(app, "figures", 50, "figures")
    ids = [
        _ask(live, key, PAID, "a first question"),
        _ask(live, key, PAID, "a second, longer question about the numbers"),
        _ask(live, key, FREE, "hello"),
    ]
    deadline = time.monotonic() + 10  # a request is recorded once its answer has ended
    while any(_api(live, key, f"/generation?id={rid}").status_code == 404 for rid in ids):
        assert time.monotonic() < deadline, "the requests were never recorded"
        time.sleep(0.1)
    report = _api(live, key, "/usage").json()
    assert report["summary"]["total_requests"] == 3 and report["summary"]["total_cost"] > 0
    return user_id, key, ids, report


@pytest.fixture
def reader(app, used):
    client = WebClient(app)
    client.login_as(used[0])
    return client


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return unescape(match.group(1)).strip()


def _cells(row_html: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    ]


def test_the_cards_say_what_the_usage_api_says(reader, used):
    report = used[3]
    html = reader.get("/dashboard/usage").get_data(as_text=True)
    summary = report["summary"]
    assert _text(html, "total-requests") == f"{summary['total_requests']:,}" == "3"
    assert _text(html, "total-cost") == figures.usd(summary["total_cost"])
    assert _text(html, "total-cost") == f"${summary['total_cost']:.6f}"  # the API's six decimals
    assert _text(html, "total-cost-credits") == f"{summary['total_cost'] * 100:.4f}"
    assert f'id="total-tokens" title="{summary["total_tokens"]:,} tokens"' in html
    remaining = report["account"]["credits_remaining"]
    assert _text(html, "credits-available") == figures.balance(remaining)
    assert float(_text(html, "credits-available").replace(",", "")) <= remaining < 50
    assert _text(html, "credits-available-usd") == figures.balance_usd(remaining)


def test_each_model_and_each_request_costs_what_the_api_says(reader, used):
    report = used[3]
    html = reader.get("/dashboard/usage").get_data(as_text=True)
    for entry in report["by_model"]:
        row = html[html.index(f'<tr data-model-id="{entry["model_id"]}">') :].split("</tr>")[0]
        cells = _cells(row)
        assert cells[1:] == [
            f"{entry['requests']:,}",
            f"{entry['tokens']:,}",
            f"${entry['cost']:.6f}",
            f"{entry['cost'] * 100:.4f}",
        ]
    assert {m["model_id"] for m in report["by_model"]} == {PAID, FREE}
    for request in report["recent_activity"]:
        row = html[html.index(f'<tr data-request-id="{request["id"]}"') :].split("</tr>")[0]
        cells = _cells(row)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", cells[0]), cells[0]  # to the second
        assert cells[1].startswith(request["model_id"])
        assert cells[2:7] == [
            f"{request['prompt_tokens']:,}",
            f"{request['completion_tokens']:,}",
            f"{request['cache_read_tokens']:,}",
            f"${request['cost']:.6f}",
            f"{request['cost'] * 100:.4f}",
        ]
    free = next(r for r in report["recent_activity"] if r["model_id"] == FREE)
    assert free["cost"] == 0 and f'data-request-id="{free["id"]}"' in html


def test_the_charts_draw_the_apis_daily_series(reader, used):
    report = used[3]
    html = reader.get("/dashboard/usage").get_data(as_text=True)
    charts = {
        name: json.loads(unescape(spec))
        for name, spec in re.findall(r'<canvas id="chart-(\w+)" data-chart=\'([^\']+)\'', html)
    }
    assert set(charts) == {"requests", "tokens", "cost", "models"}
    assert charts["requests"]["datasets"][0]["data"] == [d["requests"] for d in report["daily"]]
    assert charts["tokens"]["datasets"][0]["data"] == [d["tokens"] for d in report["daily"]]
    assert charts["cost"]["datasets"][0]["data"] == [d["cost"] for d in report["daily"]]
    assert sum(charts["models"]["datasets"][0]["data"]) == 3


def test_a_requests_detail_is_what_generation_answers(reader, used, live):
    _user, key, ids, _report = used
    rid = ids[1]
    api = _api(live, key, f"/generation?id={rid}").json()["data"]
    partial = reader.htmx(f"/dashboard/usage/requests/{rid}")
    assert partial.status_code == 200 and partial.headers["Cache-Control"] == "private, no-store"
    html = partial.get_data(as_text=True)
    assert "<html" not in html and f'data-request-id="{rid}"' in html
    assert _text(html, "detail-cost") == f"${api['total_cost']:.6f} · {api['total_cost'] * 100:.4f} credits"
    assert _text(html, "detail-prompt").startswith(f"{api['tokens_prompt']:,}")
    assert _text(html, "detail-completion").startswith(f"{api['tokens_completion']:,}")
    assert _text(html, "detail-latency").startswith(f"{api['latency']:,} ms")
    assert _text(html, "detail-status").startswith(str(api["status_code"]))
    assert api["model"] in html and (api["provider_name"] or "—") in html
    # Without HTMX the same detail is a page of its own, reachable from the row's link.
    page = reader.get(f"/dashboard/usage/requests/{rid}").get_data(as_text=True)
    assert "<html" in page and f'data-request-id="{rid}"' in page
    assert "data-close-detail" in html and "data-close-detail" not in page  # closing is for the in-place detail
    listing = reader.get("/dashboard/usage").get_data(as_text=True)
    assert f'hx-get="/dashboard/usage/requests/{rid}"' in listing


def test_another_accounts_request_is_not_found(app, used):
    from tests.conftest import _new_account

    stranger = WebClient(app)
    stranger.login_as(_new_account(app, "stranger", 1, "stranger")[0])
    for rid in (used[2][0], "req_" + "0" * 32, "not-an-id"):
        response = stranger.get(f"/dashboard/usage/requests/{rid}")
        assert response.status_code == 404 and "no such request" in response.get_data(as_text=True)
