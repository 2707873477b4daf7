"""The API and the web pages are kept apart by construction: the app itself has
no request hooks and no error handlers; the API's blueprints run only the API's
hooks and answer every error as JSON in their own wire format; every web
blueprint runs the web side's hooks (CSRF, log-ins, form throttles, security
headers) and answers HTML; a URL no route matches is answered by the side that
owns it. GET /metrics belongs to neither side: it runs no hooks at all. In-process, through Flask's test client; nothing here needs the
database's tables."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError, OperationalError

from lumyx.api import blueprints as api_blueprints
from lumyx.web import security
from lumyx.web.extensions import WEB_HOOKS

API_BLUEPRINTS = {
    api_blueprints.api,
    api_blueprints.anthropic,
    api_blueprints.unmatched_api,
    api_blueprints.unmatched_anthropic,
}
API_HOOKS = {
    api_blueprints.meter_start,
    api_blueprints.identify_and_count,
    api_blueprints.rate_limit_headers,
    api_blueprints.meter_end,
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An app of its own. The app factory also sets this process's routing settings and
    store (the session's live server shares them, and each test clears them first): they
    are the session app's again once this module is done."""
    from lumyx.routing import breakers, store

    saved = breakers.settings, store.shared
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", f"sqlite:///{tmp_path_factory.mktemp('apart') / 'apart.db'}")
        env.setenv("SECRET_KEY", "apart")
        env.delenv("REDIS_URL", raising=False)
        from lumyx import create_app

        application = create_app()
    yield application
    breakers.settings, store.shared = saved


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def web_hooks_seen(app):
    """Records every run of a hook added to the web side (as an extension would add one)."""
    hooks = app.extensions[WEB_HOOKS]
    seen: list[str] = []
    added = (
        (hooks.before, lambda: seen.append("before")),
        (hooks.after, lambda response: seen.append("after") or response),
        (hooks.teardown, lambda exc: seen.append("teardown")),
    )
    for hook_list, hook in added:
        hook_list.append(hook)
    yield seen
    for hook_list, hook in added:
        hook_list.remove(hook)


def _hooks_of(app, name: str) -> set:
    return {
        hook
        for table in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
        for hook in table.get(name, ())
    }


def _handlers_of(app, name: str) -> dict:
    return {
        kind: handler
        for handlers in app.error_handler_spec.get(name, {}).values()
        for kind, handler in handlers.items()
    }


def test_the_app_itself_has_no_request_hooks_and_no_error_handlers(app):
    assert _hooks_of(app, None) == set()
    assert _handlers_of(app, None) == {}
    assert app.url_value_preprocessors.get(None) is None


def test_the_metrics_endpoint_runs_no_hooks(app):
    assert "metrics" in app.blueprints
    assert _hooks_of(app, "metrics") == set()


def test_the_api_blueprints_run_only_the_api_hooks_and_answer_every_error(app):
    api_names = [name for name, blueprint in app.blueprints.items() if blueprint in API_BLUEPRINTS]
    assert len(api_names) == 2 * 4 + 2  # api and anthropic under each prefix, and the two for unmatched URLs
    for name in api_names:
        keyed = app.blueprints[name] in (api_blueprints.api, api_blueprints.anthropic)
        assert _hooks_of(app, name) == (API_HOOKS if keyed else set()), name
        assert Exception in _handlers_of(app, name), name


def test_every_web_blueprint_runs_the_web_hooks_and_pages_send_their_headers(app):
    web_names = [
        name for name, blueprint in app.blueprints.items() if blueprint not in API_BLUEPRINTS and name != "metrics"
    ]
    assert {"pages", "docs", "catalog", "auth", "dashboard", "admin", "webhooks", "unmatched_page"} <= set(web_names)
    for name in web_names:
        hooks = _hooks_of(app, name)
        assert not hooks & API_HOOKS, name
        assert security._extensions_after in hooks and security._extensions_teardown in hooks, name
        unmatched = name.startswith("unmatched_")
        assert (security._extensions_before in hooks) is not unmatched, name  # no CSRF check where no view runs
        assert (security.security_headers in hooks) is (name not in ("webhooks", "unmatched_webhook")), name


API_REQUESTS = [
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/nothing"),
    ("GET", "/v1/messages"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/api/v1/v1/messages/batches"),
    ("OPTIONS", "/v1/personas"),
]


@pytest.mark.parametrize("method, path", API_REQUESTS)
def test_a_hook_added_to_the_web_side_never_runs_for_an_api_request(client, web_hooks_seen, method, path):
    client.open(path, method=method)
    assert web_hooks_seen == []


def test_a_hook_added_to_the_web_side_runs_for_pages_and_unknown_web_urls(client, web_hooks_seen):
    client.get("/login")
    assert web_hooks_seen == ["before", "after", "teardown"]
    web_hooks_seen.clear()
    client.post("/no/such/page")
    assert web_hooks_seen == ["after", "teardown"]  # no view runs, so no CSRF check: a 404, not a 400


def _shape(response) -> str:
    if response.mimetype == "text/html":
        return "html+csp" if "Content-Security-Policy" in response.headers else "html"
    body = response.get_json()
    if body.get("type") == "error":
        assert set(body["error"]) == {"type", "message"}
        return "anthropic"
    assert set(body) == {"error"} and body["error"]["code"] == response.status_code
    return "openai"


@pytest.mark.parametrize(
    "method, path, status, shape",
    [
        ("POST", "/v1/nothing", 404, "openai"),
        ("GET", "/v1", 404, "openai"),
        ("GET", "/api", 404, "openai"),
        ("DELETE", "/api/v1/v1/models", 405, "openai"),
        ("GET", "/v1/chat/completions", 405, "openai"),
        ("POST", "/v1/chat/completions", 401, "openai"),
        ("GET", "/v1/messages", 405, "anthropic"),
        ("POST", "/api/v1/v1/messages/batches", 404, "anthropic"),
        ("POST", "/v1/messages", 401, "anthropic"),
        ("POST", "/v1/messages/count_tokens", 401, "anthropic"),
        ("GET", "/nothing", 404, "html+csp"),
        ("POST", "/nothing", 404, "html+csp"),
        ("GET", "/v1abc", 404, "html+csp"),
        ("GET", "/logout", 405, "html+csp"),
        ("GET", "/static/no-such-file.js", 404, "html+csp"),
        ("GET", "/webhooks/stripe", 405, "html"),
    ],
)
def test_errors_answer_in_the_shape_of_the_side_that_owns_the_url(client, method, path, status, shape):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert _shape(response) == shape


@pytest.mark.parametrize(
    "error, status",
    [(OperationalError("SELECT", {}, Exception("down")), 503), (DataError("SELECT", {}, Exception("NUL")), 400)],
)
@pytest.mark.parametrize(
    "method, path, shape",
    [("GET", "/v1/models", "openai"), ("POST", "/v1/messages", "anthropic"), ("GET", "/", "html+csp")],
)
def test_database_failures_answer_on_each_side_as_before(client, monkeypatch, error, status, method, path, shape):
    def failing():
        raise error

    monkeypatch.setattr("lumyx.runtime.get", failing)
    response = client.open(path, method=method, headers={"Authorization": "Bearer lx-anything"})
    assert response.status_code == status
    assert _shape(response) == shape
    if status == 503 and shape != "html+csp":
        assert response.headers["retry-after"] == "5"


def test_an_unexpected_error_is_a_500_in_each_sides_shape(client, monkeypatch):
    def failing():
        raise RuntimeError("boom")

    monkeypatch.setattr("lumyx.runtime.get", failing)
    api = client.get("/v1/models", headers={"x-api-key": "lx-anything"})
    assert api.status_code == 500 and api.get_json()["error"]["message"] == "Internal server error."
    page = client.get("/")
    assert page.status_code == 500 and _shape(page) == "html+csp" and "boom" not in page.get_data(as_text=True)


def test_api_requests_neither_read_nor_set_the_session_cookie(app, client, monkeypatch):
    assert "session=" in client.get("/login").headers.get("Set-Cookie", "")  # the page's CSRF token
    opened = []
    interface = app.session_interface
    monkeypatch.setattr(
        interface, "open_session", lambda *args: opened.append(1) or type(interface).open_session(interface, *args)
    )
    for method, path in API_REQUESTS:
        response = client.open(path, method=method)
        assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary, path
    assert opened == []
    client.get("/login")
    assert opened == [1]


def test_static_files_and_the_root_description_get_the_page_headers_and_the_api_none(client):
    for path in ("/static/app.js", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200 and "Content-Security-Policy" in response.headers, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    api = client.get("/v1/openapi.json")
    assert api.status_code == 200 and "Content-Security-Policy" not in api.headers


def test_wrong_methods_are_answered_with_the_routes_allowed_methods(client):
    assert set(client.open("/v1/personas", method="OPTIONS").allow) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert set(client.open("/login", method="OPTIONS").allow) == {"GET", "HEAD", "POST", "OPTIONS"}
