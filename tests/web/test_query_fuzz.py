"""Every web page, with hostile query parameters, never answers 500.

The GET routes come from the app's URL map (every web blueprint's, so a new page is
covered the day it is added); each is asked for by an anonymous visitor, a logged-in
account and an admin, with bad dates, negative, huge and non-numeric numbers,
unicode, NUL bytes, markup, invalid UTF-8 and repeated (array) parameters, on every
parameter name a page reads. A page may refuse (4xx) or ignore what it cannot use;
a bad filter the page applies is named in a message."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from lumyx.web import BLUEPRINTS
from lumyx.web.docs import SECTIONS

# Every query parameter a web page reads, and some none does.
NAMES = (
    "page",
    "limit",
    "q",
    "model",
    "start_date",
    "end_date",
    "capability",
    "modality",
    "free",
    "available",
    "provider",
    "min_context",
    "max_price",
    "sort",
    "next",
    "session_id",
    "id",
)
VALUES = (
    "x",
    "",
    " ",
    "-1",
    "0",
    "-99999999999999999999",
    "99999999999999999999999999",
    "9" * 5000,
    "1e309",
    "1e999999999",
    "-1e999999999",
    "NaN",
    "sNaN",
    "Infinity",
    "-inf",
    "0x10",
    "1.5",
    "１２",
    "2026-02-30",
    "2026-13-01",
    "0000-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-14:00",
    "2026-03-01T25:61",
    "2026-03-01T00:00:00+99:00",
    "\x00",
    "a\x00b",
    "Ω≈ç√∫ 🦙 ‮",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "//evil.example/",
    "a" * 5000,
)
RAW_QUERIES = (
    "page=%ff%fe&q=%c3%28&start_date=%ed%a0%80",  # not UTF-8
    "page=1&page=x&page=-3",
    "page[]=1&start_date[]=2026-01-01&capability[]=tools",
    "start_date=x&end_date=y",
    "start_date=2026-03-10&end_date=2026-03-01",
    "capability=tools,vision,nope,,&capability=reasoning",
    "%00=%00&=&&=x&page",
)
WEB = {blueprint.name for blueprint in BLUEPRINTS} - {"unmatched_page", "unmatched_webhook"}


def _get_routes(app) -> list:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods
            and not rule.build_only
            and rule.endpoint.split(".")[0] in WEB
            and rule.endpoint != "pages.static"
        ),
        key=lambda rule: rule.rule,
    )


def _path(rule, user_id: int, persona: str) -> str:
    # (a request id of nobody's: its page answers 404, whatever the query)
    values = {"model_id": "gpt-5.2", "user_id": str(user_id), "slug": persona, "request_id": "req_fuzzed"}
    if rule.endpoint == "docs.section":
        values["slug"] = SECTIONS[0][0]
    path = rule.rule
    for name in rule.arguments:
        assert name in values, f"no value for <{name}> of {rule.rule}: add one to the fuzz test"
        path = path.replace(f"<{rule._converters[name].__class__.__name__}:{name}>", values[name])
        path = path.replace(f"<path:{name}>", values[name]).replace(f"<int:{name}>", values[name])
        path = path.replace(f"<{name}>", values[name])
    assert "<" not in path, path
    return path


def _queries():
    """Each value on every name at once, then the values rotated across the names, then the raw ones."""
    for value in VALUES:
        yield "&".join(f"{name}={quote(value)}" for name in NAMES)
    for shift in range(len(VALUES)):
        yield "&".join(f"{name}={quote(VALUES[(shift + i) % len(VALUES)])}" for i, name in enumerate(NAMES))
    yield from RAW_QUERIES


@pytest.fixture
def persona_of(app):
    """A persona of an account, so its page is fuzzed too."""

    def make(user_id: int) -> str:
        from lumyx import runtime
        from lumyx.agents import personas

        with app.app_context():
            body = {"name": "Fuzzed", "slug": "fuzzed", "model": "gpt-5.2", "system_prompt": "Be brief."}
            personas.create(user_id, body, runtime.get().catalog.current())
        return "fuzzed"

    return make


@pytest.mark.parametrize("who", ["anonymous", "account", "admin"])
def test_no_page_answers_500_to_hostile_query_parameters(app, web, make_user, persona_of, who):
    user_id, _ = make_user(credits=5, admin=who == "admin")
    persona = persona_of(user_id)
    if who != "anonymous":
        web.login_as(user_id)
    routes = _get_routes(app)
    assert {"dashboard.usage", "catalog.index", "admin.users", "docs.section"} <= {r.endpoint for r in routes}
    failures = []
    for rule in routes:
        path = _path(rule, user_id, persona)
        for n, query in enumerate(_queries()):
            headers = {"HX-Request": "true"} if n % 2 else {}
            response = web.get(f"{path}?{query}", headers=headers)
            if response.status_code >= 500:
                failures.append(f"{response.status_code} GET {path}?{query[:200]}")
    assert not failures, "\n".join(failures[:20])


def test_bad_usage_filters_are_each_named_in_a_message(signed_in):
    response = signed_in.get("/dashboard/usage?start_date=x&end_date=y&model=gpt-5.2&page=zero")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for param in ("start_date", "end_date", "page"):
        assert f"&#39;{param}&#39; must" in html, param
    assert 'value="x"' not in html and 'value="y"' not in html, "the bad filters are dropped from the form"
    assert "gpt-5.2" in html

    backwards = signed_in.get("/dashboard/usage?start_date=2026-03-10&end_date=2026-03-01").get_data(as_text=True)
    assert "&#39;end_date&#39; must not be before &#39;start_date&#39;" in backwards


def test_bad_catalog_filters_are_named_and_left_out(web):
    for query in (
        "max_price=1e999999999&min_context=lots",
        "max_price=NaN&min_context=-5",
        "max_price=-1&min_context=x",
    ):
        response = web.get(f"/models?{query}&capability=tools")
        assert response.status_code == 200, query
        html = response.get_data(as_text=True)
        assert "The maximum price is dollars per 1M tokens" in html and "Ignored min_context: " in html
        assert "match the filters" in html, "the good filter still applies"
    assert "The maximum price" not in web.get("/models?max_price=0.5&min_context=128000").get_data(as_text=True)
