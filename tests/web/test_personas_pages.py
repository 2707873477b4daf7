"""The personas page: the account's personas listed, created, edited and deleted
through the real forms (CSRF included); another account's personas are neither
shown nor editable. And the docs section that explains personas and agents."""

from __future__ import annotations

import re

from lumyx.web.docs import SECTIONS
from tests.web.support import WebClient

PAGE = "/dashboard/personas"


def create(web: WebClient, **fields):
    data = {
        "name": "Support bot",
        "slug": "",
        "description": "",
        "model": "gpt-5.2",
        "system_prompt": "Answer in one sentence.",
        "temperature": "0.3",
        "max_tokens": "300",
        **fields,
    }
    return web.post_form(PAGE, data)


def row_of(html: str, slug: str) -> str:
    return html[html.index(f'data-persona-slug="{slug}"') :].split("</tr>")[0]


def stored(app, user_id: int, slug: str):
    from lumyx.agents import personas

    with app.app_context():
        row = personas.find(user_id, slug)
        return None if row is None else personas.to_api(row)


def test_the_page_needs_a_log_in(web):
    response = web.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_is_in_the_navigation_and_offers_only_chat_models(signed_in):
    response = signed_in.get(PAGE)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    nav = html[html.index('<nav class="main-nav"') : html.index("</nav>")]
    assert nav.index(">API keys<") < nav.index('href="/dashboard/personas" aria-current="page">Personas<')
    assert "No personas yet" in html and 'name="csrf_token"' in html
    select = html[html.index("<select", html.index('for="model"')) : html.index("</select>")]
    assert 'value="gpt-5.2"' in select and 'value="lumyx-local-embed"' not in select


def test_create_lists_edit_and_delete(signed_in, user, app):
    response = create(signed_in)
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    html = signed_in.get(PAGE).get_data(as_text=True)
    assert "is saved" in html and "persona:support-bot" in html
    row = row_of(html, "support-bot")
    assert "Support bot" in row and "gpt-5.2" in row and "temperature" in row and "300" in row
    persona = stored(app, user[0], "support-bot")
    assert persona["system_prompt"] == "Answer in one sentence."
    assert persona["defaults"] == {"temperature": 0.3, "max_tokens": 300}

    edit = signed_in.get("/dashboard/personas/support-bot")
    assert edit.status_code == 200
    form = edit.get_data(as_text=True)
    assert 'value="Support bot"' in form and "Answer in one sentence." in form and 'value="0.30"' in form
    response = signed_in.post_form(
        "/dashboard/personas/support-bot",
        {
            "name": "Helper",
            "slug": "helper",
            "description": "Friendly",
            "model": "gpt-5.2",
            "system_prompt": "Be brief.",
            "temperature": "",
            "max_tokens": "120",
        },
    )
    assert response.status_code == 302
    assert stored(app, user[0], "support-bot") is None
    persona = stored(app, user[0], "helper")
    assert persona["name"] == "Helper" and persona["description"] == "Friendly"
    assert persona["system_prompt"] == "Be brief." and persona["defaults"] == {"max_tokens": 120}

    response = signed_in.post_form("/dashboard/personas/helper/delete", {}, token_from=PAGE)
    assert response.status_code == 302
    html = signed_in.get(PAGE).get_data(as_text=True)
    assert "is deleted" in html and 'data-persona-slug="helper"' not in html
    assert stored(app, user[0], "helper") is None


def test_editing_keeps_the_defaults_the_form_does_not_show(signed_in, user, app):
    from lumyx import runtime
    from lumyx.agents import personas

    with app.app_context():
        personas.create(
            user[0],
            {"name": "Thinker", "model": "gpt-5.2", "defaults": {"temperature": 1, "reasoning": {"effort": "low"}}},
            runtime.get().catalog.current(),
        )
    response = signed_in.post_form(
        "/dashboard/personas/thinker", {"name": "Thinker", "slug": "thinker", "model": "gpt-5.2", "temperature": "0.5"}
    )
    assert response.status_code == 302
    assert stored(app, user[0], "thinker")["defaults"] == {"temperature": 0.5, "reasoning": {"effort": "low"}}


def test_bad_input_is_shown_on_the_form(signed_in, user, app):
    assert create(signed_in, slug="taken").status_code == 302
    response = create(signed_in, slug="taken")
    assert response.status_code == 409 and "exists already" in response.get_data(as_text=True)
    response = create(signed_in, slug="Not A Slug")
    assert response.status_code == 400 and "must be 1-64 characters" in response.get_data(as_text=True)
    response = create(signed_in, slug="hot", temperature="3")
    assert response.status_code == 400 and stored(app, user[0], "hot") is None
    response = create(signed_in, slug="embed", model="lumyx-local-embed")
    assert response.status_code == 400 and stored(app, user[0], "embed") is None
    response = create(signed_in, name="")
    assert response.status_code == 400


def test_forms_need_the_csrf_token(signed_in, user, app):
    response = signed_in.post(PAGE, data={"name": "No token", "model": "gpt-5.2"})
    assert response.status_code == 400 and stored(app, user[0], "no-token") is None
    assert create(signed_in, slug="keep").status_code == 302
    assert signed_in.post("/dashboard/personas/keep/delete").status_code == 400
    assert signed_in.post("/dashboard/personas/keep", data={"name": "X", "model": "gpt-5.2"}).status_code == 400
    assert stored(app, user[0], "keep")["name"] == "Support bot"


def test_htmx_delete_swaps_the_list(signed_in, user, app):
    assert create(signed_in, slug="one").status_code == 302
    assert create(signed_in, name="Two", slug="two").status_code == 302
    token = signed_in.csrf(PAGE)
    response = signed_in.post("/dashboard/personas/one/delete", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.startswith('<section id="personas-list"') and "<html" not in html
    assert 'data-persona-slug="two"' in html and 'data-persona-slug="one"' not in html
    partial = signed_in.htmx(PAGE).get_data(as_text=True)
    assert partial.startswith('<section id="personas-list"') and "<html" not in partial


def test_another_accounts_personas_are_neither_shown_nor_editable(app, make_user, user, signed_in):
    other_id, _ = make_user()
    other = WebClient(app)
    other.login_as(other_id)
    assert create(other, name="Secret", slug="secret").status_code == 302

    html = signed_in.get(PAGE).get_data(as_text=True)
    assert "secret" not in html.lower()
    assert signed_in.get("/dashboard/personas/secret").status_code == 404
    token = signed_in.csrf(PAGE)
    changed = signed_in.post(
        "/dashboard/personas/secret",
        data={"csrf_token": token, "name": "Mine now", "slug": "secret", "model": "gpt-5.2"},
    )
    assert changed.status_code == 404
    assert signed_in.post("/dashboard/personas/secret/delete", data={"csrf_token": token}).status_code == 404
    assert stored(app, other_id, "secret")["name"] == "Secret"
    # The same slug on my own account is a persona of its own.
    assert create(signed_in, name="Mine", slug="secret").status_code == 302
    assert stored(app, other_id, "secret")["name"] == "Secret"
    assert stored(app, user[0], "secret")["name"] == "Mine"
    assert 'value="Secret"' in other.get("/dashboard/personas/secret").get_data(as_text=True)


def test_the_docs_page_explains_personas_and_agents_and_is_in_the_sidebar(web):
    assert ("personas", "Personas & agents") in SECTIONS
    response = web.get("/docs/personas")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Personas &amp; agents</h1>" in html
    nav = html[html.index('<nav class="docs-nav"') : html.index("</nav>", html.index('<nav class="docs-nav"'))]
    assert 'href="/docs/personas" aria-current="page">Personas &amp; agents</a>' in nav
    for text in (
        "persona:&lt;slug&gt;",
        "/v1/personas",
        "/v1/agents/chat/completions",
        "calculator",
        "current_time",
        "search_docs",
        "max_steps",
        "agent_event",
        "tool_result",
        "final_answer",
    ):
        assert text in html, text
    for sample_id in (
        "personas-create-curl",
        "personas-chat-python",
        "agents-calculator-python",
        "agents-stream-python",
    ):
        assert f'data-sample-id="{sample_id}"' in html
    assert re.search(r'base_url="http://localhost/v1/agents"', html)
    getting_started = web.get("/docs/getting-started").get_data(as_text=True)
    assert 'href="/docs/personas"' in getting_started
