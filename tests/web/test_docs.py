"""The docs site: one page per section with a sidebar, written for this instance
(its own address in every sample), each sample with a copy button."""

from __future__ import annotations

import re
from html import unescape

import pytest

from lumyx.catalog import samples
from lumyx.web.docs import SECTIONS

SAMPLE_RE = re.compile(r'<code id="sample-([^"]+)" data-sample-id="([^"]+)" data-lang="([^"]+)">(.*?)</code>', re.S)
MODEL_PAGES = ["/models/gpt-5.2", "/models/lumyx-local-embed"]


def page_samples(html: str) -> dict[str, str]:
    found = {}
    for element_id, sample_id, _lang, code in SAMPLE_RE.findall(html):
        assert element_id == sample_id
        found[sample_id] = unescape(code)
    return found


def test_docs_start_at_getting_started(web):
    response = web.get("/docs")
    assert response.status_code == 302 and response.headers["Location"] == "/docs/getting-started"
    assert web.get("/docs/no-such-section").status_code == 404


@pytest.mark.parametrize("slug, title", SECTIONS)
def test_each_section_has_the_sidebar_and_its_neighbours(web, slug, title):
    html = web.get(f"/docs/{slug}").get_data(as_text=True)
    assert f"<h1>{title.replace('&', '&amp;')}</h1>" in html
    assert f"<title>{title.replace('&', '&amp;')} · Lumyx docs</title>" in html
    nav = html[html.index('<nav class="docs-nav"') : html.index("</nav>", html.index('<nav class="docs-nav"'))]
    for other, _ in SECTIONS:
        assert f'href="/docs/{other}"' in nav
    assert f'href="/docs/{slug}" aria-current="page"' in nav
    assert 'aria-label="Previous and next section"' in html


def test_every_sample_is_on_a_page_with_a_copy_button(web):
    seen: dict[str, str] = {}
    for path in [f"/docs/{slug}" for slug, _ in SECTIONS] + MODEL_PAGES:
        html = web.get(path).get_data(as_text=True)
        found = page_samples(html)
        for sample_id in found:
            assert f'data-copy-target="sample-{sample_id}"' in html, (path, sample_id)
        seen.update(found)
    registry = samples.registry()
    assert set(seen) == set(registry), "every registered sample is shown, and only those"
    for sample_id, code in seen.items():
        assert "{{" not in code, f"{sample_id} has an unfilled placeholder"


def test_samples_use_this_instances_own_address(web, app, monkeypatch):
    monkeypatch.setitem(app.config, "LUMYX_ALLOWED_HOSTS", ("gateway.example.org", "10.1.2.3"))
    everything = ""
    for slug, _ in SECTIONS:
        everything += web.get(f"/docs/{slug}", base_url="https://gateway.example.org").get_data(as_text=True)
    assert "lumyx-ai.site" not in everything and "127.0.0.1" not in everything and "localhost" not in everything
    codes = page_samples(everything)
    assert 'base_url="https://gateway.example.org/v1"' in codes["quickstart-python"]
    assert 'base_url="https://gateway.example.org/api/v1"' in codes["messages-python"]
    assert "export ANTHROPIC_BASE_URL=https://gateway.example.org/api/\n" in codes["int-claude-code"]
    assert "curl https://gateway.example.org/v1/chat/completions" in codes["quickstart-curl"]
    assert 'baseURL: "https://gateway.example.org/v1"' in codes["int-openai-node"]
    assert '"apiBase": "https://gateway.example.org/v1"' in codes["int-continue"]
    other = page_samples(web.get("/docs/getting-started", base_url="http://10.1.2.3:8000").get_data(as_text=True))
    assert "curl http://10.1.2.3:8000/v1/chat/completions" in other["quickstart-curl"]


def test_samples_name_a_model_this_instance_serves(web):
    codes = {}
    for slug, _ in SECTIONS:
        codes.update(page_samples(web.get(f"/docs/{slug}").get_data(as_text=True)))
    assert '"model": "gpt-5.2"' in codes["chat-curl"]
    assert '"model": "lumyx-plus_v1"' in codes["messages-curl"]
    assert '"model": "lumyx-local-embed"' in codes["endpoints-embeddings"]


def test_the_models_section_is_the_live_catalog(web):
    html = web.get("/docs/models").get_data(as_text=True)
    for model_id in ("lumyx-local", "gpt-5.2", "nokey-chat"):
        assert f"<code>{model_id}</code>" in html
    assert "$1.75" in html and "Needs a provider key" in html and "Available" in html


def test_the_responses_page_covers_the_api(web, app, monkeypatch):
    monkeypatch.setitem(app.config, "LUMYX_ALLOWED_HOSTS", ("gateway.example.org",))
    html = unescape(web.get("/docs/responses").get_data(as_text=True))
    for text in (
        "POST /v1/responses",
        "previous_response_id",
        "GET /v1/responses/{id}/input_items",
        '"store": false',
        "reasoning.encrypted_content",
        "response.output_item.done",
        "response.completed",
        "response.failed",
        "server_error",
        "previous_response_not_found",
        "invalid_encrypted_content",
        "kept 30 days",
        "<namespace>__<name>",
    ):
        assert text in html, text
    codes = page_samples(web.get("/docs/responses", base_url="https://gateway.example.org").get_data(as_text=True))
    assert 'base_url="https://gateway.example.org/v1"' in codes["responses-python"]
    assert "curl https://gateway.example.org/v1/responses" in codes["responses-curl"]
    integrations = page_samples(
        web.get("/docs/integrations", base_url="https://gateway.example.org").get_data(as_text=True)
    )
    assert 'base_url = "https://gateway.example.org/v1"' in integrations["int-codex"]
    assert 'AsyncOpenAI(base_url="https://gateway.example.org/v1"' in integrations["int-agents-sdk"]


def test_billing_rate_limits_and_errors_say_what_the_product_does(web):
    credits = web.get("/docs/credits").get_data(as_text=True)
    for text in (
        "Starter",
        "Popular",
        "Best value",
        "Pro",
        "Power",
        "2,000",
        "15,000",
        "$15",
        "$75",
        "$2",
        "$1,000",
        "402",
        "insufficient_credits",
        "uncached input tokens   × input_price",
        "× cache_read_price",
        "× cache_write_1h_price",
        "usage.cost",
    ):
        assert text in credits, text
    limits = web.get("/docs/rate-limits").get_data(as_text=True)
    for text in (
        "Free",
        "1,000",
        "Pro",
        "50,000",
        "Enterprise",
        "Unlimited",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
    ):
        assert text in limits, text
    errors = web.get("/docs/errors").get_data(as_text=True)
    for status, code, anthropic in (
        (400, "invalid_request", "invalid_request_error"),
        (401, "unauthorized", "authentication_error"),
        (402, "insufficient_credits", "billing_error"),
        (404, "model_not_found", "not_found_error"),
        (429, "rate_limit_exceeded", "rate_limit_error"),
        (500, "internal_error", "api_error"),
        (503, "model_unavailable", "overloaded_error"),
    ):
        row = errors[errors.index(f'<td class="num">{status}</td>') :].split("</tr>")[0]
        assert code in row and anthropic in row


def test_integrations_cover_every_tool(web):
    html = web.get("/docs/integrations").get_data(as_text=True)
    for name in (
        "OpenAI Python SDK",
        "OpenAI Node.js SDK",
        "Anthropic Python SDK",
        "curl",
        "Aider",
        "Continue",
        "Cursor",
        "LiteLLM",
        "Claude Code",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_DEFAULT_SONNET_MODEL",
        "CLAUDE_CODE_SUBAGENT_MODEL",
        "OPENAI_API_BASE",
        "Codex CLI",
        'wire_api = "responses"',
        "model_catalog_json",
        "OpenAI Agents SDK",
        "set_tracing_disabled(True)",
    ):
        assert name in unescape(html), name


# --------------------------------------------------------------------------- the registry


def test_the_registry_refuses_malformed_samples():
    with pytest.raises(samples.SampleError, match="needs an id"):
        samples._parse([{"code": "x", "run": "bash"}])
    with pytest.raises(samples.SampleError, match="duplicate id 'a'"):
        samples._parse([{"id": "a", "code": "x", "run": "bash"}, {"id": "a", "code": "y", "run": "bash"}])
    with pytest.raises(samples.SampleError, match="a.run"):
        samples._parse([{"id": "a", "code": "x", "run": "teleport"}])
    with pytest.raises(samples.SampleError, match="a.code"):
        samples._parse([{"id": "a", "code": " ", "run": "bash"}])


def test_a_sample_falls_back_to_a_served_model_with_what_it_needs(app, monkeypatch, server_env):
    from lumyx import runtime

    monkeypatch.delenv("FAKE_OPENAI_KEY", raising=False)
    monkeypatch.delenv("FAKE_ANTHROPIC_KEY", raising=False)
    with app.app_context():
        catalog = runtime.get().catalog.current()
    chat = samples.Sample(id="s", lang="bash", run="bash", code="{{MODEL}}", model="gpt-5.2")
    vision = samples.Sample(id="v", lang="bash", run="bash", code="{{MODEL}}", model="gpt-5.2", needs=("vision",))
    embed = samples.Sample(id="e", lang="bash", run="bash", code="{{MODEL}}", model="fake-embed", needs=("embeddings",))
    from lumyx.catalog.filters import has_capability, is_available

    for sample, wanted in ((chat, ()), (vision, ("vision",)), (embed, ("embeddings",))):
        picked = catalog.get(samples.pick_model(sample, catalog))
        assert picked.id != sample.model, "the preferred model's provider has no key here"
        assert is_available(picked) and all(has_capability(picked, need) for need in wanted)
        assert picked.is_embedding == ("embeddings" in wanted)
    monkeypatch.setenv("FAKE_OPENAI_KEY", server_env["FAKE_OPENAI_KEY"])
    assert samples.pick_model(chat, catalog) == "gpt-5.2"
    filled = samples.fill(chat, origin="https://x.example/", catalog=catalog, model="plain-chat")
    assert filled.code == "plain-chat" and filled.model == "plain-chat"
