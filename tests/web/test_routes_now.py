"""The admin providers page shows each route's breaker and measurements; the
catalog pages show a model whose every route is open as unavailable right now.

The route used, ``fake-responses/fake-failed:server_error`` (model
``responses-failing``), fails whatever it is sent, so opening its breaker here
changes nothing for other tests; it is closed again at the end."""

from __future__ import annotations

from html import unescape

import pytest

MODEL = "responses-failing"
ROUTE = "fake-responses/fake-failed:server_error"


def _route(app):
    from lumyx import runtime

    with app.app_context():
        return runtime.get().catalog.current().get(MODEL).routes[0]


@pytest.fixture
def opened(app):
    """The model's only route with its breaker open, closed again afterwards."""
    from lumyx.routing import breakers

    route = _route(app)
    with app.app_context():
        for _ in range(breakers.settings.failures):
            breakers.failed(route)
        assert breakers.state(route) == "open"
    yield route
    with app.app_context():
        breakers.board.seen.clear()  # so that the success writes
        breakers.succeeded(route)
        assert breakers.state(route) == "closed"


def _row(html: str, marker: str) -> str:
    return html[html.index(marker) :].split("</tr>")[0]


def test_the_providers_page_shows_each_routes_measurements_and_breaker(admin, app, opened):
    from lumyx.routing import measurements

    measurements.record(opened, True, 0.25, ttft_s=0.125, output_tokens=300, duration_s=2.0)
    measurements.record(opened, False, 0.01)
    html = unescape(admin.get("/admin/providers").get_data(as_text=True))
    assert 'id="routes-table"' in html and "shared by every worker" in html
    row = _row(html, f'data-route="{ROUTE}"')
    stats = measurements.stats(opened)
    assert MODEL in row and '<span class="badge bad">Open</span>' in row
    assert f'<td class="num">{stats.requests:,}</td>' in row
    assert f"{stats.error_rate * 100:.1f}%" in row
    assert f"{round(stats.latency_s * 1000):,} ms" in row
    assert f"{round(stats.ttft_s * 1000):,} ms" in row and f"{stats.tokens_per_s:.1f}" in row
    keyless = _row(html, 'data-route="keyless/anything"')
    assert "No key" in keyless and "—" in keyless
    closed = _row(html, 'data-route="fake-openai/upstream-plain"')
    assert '<span class="badge ok">Closed</span>' in closed


def test_a_model_whose_routes_are_all_open_is_unavailable_right_now(web, app, opened):
    page = unescape(web.get(f"/models/{MODEL}").get_data(as_text=True))
    assert "Unavailable right now" in page and "Every provider of this model has been failing" in page
    listing = web.get("/models").get_data(as_text=True)
    assert "Unavailable right now" in _row(listing, f'data-model-id="{MODEL}"')
    assert "Available" in _row(listing, 'data-model-id="plain-chat"')
    available_only = web.get("/models?available=1").get_data(as_text=True)
    assert f'data-model-id="{MODEL}"' not in available_only and 'data-model-id="plain-chat"' in available_only


def test_a_model_is_available_again_once_a_route_closes(web, app, opened):
    from lumyx.routing import breakers

    with app.app_context():
        breakers.board.seen.clear()
        breakers.succeeded(opened)
    page = web.get(f"/models/{MODEL}").get_data(as_text=True)
    assert "Unavailable right now" not in page and '<span class="badge ok">Available</span>' in page
    assert f'data-model-id="{MODEL}"' in web.get("/models?available=1").get_data(as_text=True)


def test_a_balanced_model_page_says_its_requests_are_spread(web, app, monkeypatch):
    from dataclasses import replace

    from lumyx import runtime
    from lumyx.catalog.snapshot import Catalog

    with app.app_context():
        cache = runtime.get().catalog
        current = cache.current()
    plain = current.get("plain-chat")
    models = {**current.models, "plain-chat": replace(plain, routing="balance")}
    monkeypatch.setattr(cache, "current", lambda: Catalog(models, current.providers, current.stamp))
    page = web.get("/models/plain-chat").get_data(as_text=True)
    assert "requests spread by weight" in page and "tried in this order" not in page
    monkeypatch.undo()
    assert "tried in this order" in web.get("/models/plain-chat").get_data(as_text=True)
