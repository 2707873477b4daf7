"""The docs site: one page per section, a sidebar, and code samples from the
samples registry (lumyx.catalog.samples) filled in with this instance's address."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from lumyx import public_url, runtime
from lumyx.accounts import keys as key_service
from lumyx.billing import payments
from lumyx.catalog import filters as catalog_filters
from lumyx.catalog.samples import KEY_PLACEHOLDER, Renderer
from lumyx.errors import ANTHROPIC_TYPES

bp = Blueprint("docs", __name__, url_prefix="/docs")

SECTIONS: tuple[tuple[str, str], ...] = (
    ("getting-started", "Getting started"),
    ("authentication", "Authentication"),
    ("models", "Models"),
    ("routing", "Routing"),
    ("chat-completions", "Chat completions"),
    ("anthropic-messages", "Anthropic Messages"),
    ("responses", "Responses API"),
    ("tools", "Tools / function calling"),
    ("vision", "Vision"),
    ("reasoning", "Reasoning"),
    ("streaming", "Streaming"),
    ("personas", "Personas & agents"),
    ("credits", "Credits & billing"),
    ("usage", "Usage API"),
    ("rate-limits", "Rate limits"),
    ("errors", "Errors"),
    ("integrations", "Integrations"),
    ("endpoints", "Endpoints"),
    ("openai-compatibility", "OpenAI compatibility"),
)
TITLES = dict(SECTIONS)

ERRORS = (
    (
        400,
        "invalid_request",
        "Missing or invalid request parameters (malformed JSON, wrong types, a model "
        "without the capability the request needs)",
    ),
    (401, "unauthorized", "Invalid, missing or expired API key"),
    (402, "insufficient_credits", "Insufficient credits — top up your account"),
    (402, "key_limit_exceeded", "The API key's spending limit cannot cover the request — use another key"),
    (403, "forbidden", "The API key may not use this model (its model allowlist)"),
    (404, "model_not_found", "Model not found or not available"),
    (413, "request_too_large", "The request body is larger than this instance accepts"),
    (429, "rate_limit_exceeded", "Too many requests (your plan's limit, the free-model daily cap, or the upstream's)"),
    (500, "internal_error", "Internal server error"),
    (502, "upstream_error", "The upstream provider failed or timed out"),
    (503, "model_unavailable", "Model temporarily unavailable (for example, its provider key is not configured)"),
)


@bp.get("")
def index():
    return redirect(url_for(".section", slug=SECTIONS[0][0]))


@bp.get("/<slug>")
def section(slug: str):
    if slug not in TITLES:
        abort(404)
    catalog = runtime.get().catalog.current()
    origin = public_url.base_url()
    slugs = [s for s, _ in SECTIONS]
    at = slugs.index(slug)
    # A logged-in reader with a key sees its prefix in the samples (the rest is never stored).
    reader_prefix = key_service.reader_key_prefix(current_user.id) if current_user.is_authenticated else None
    key_shown = f"{reader_prefix}…" if reader_prefix else KEY_PLACEHOLDER
    context = {
        "slug": slug,
        "title": TITLES[slug],
        "sections": SECTIONS,
        "origin": origin,
        "previous": SECTIONS[at - 1] if at > 0 else None,
        "next": SECTIONS[at + 1] if at + 1 < len(SECTIONS) else None,
        "samples": Renderer(origin, catalog, key_shown),
        "key_placeholder": key_shown,
        "reader_prefix": reader_prefix,
    }
    if slug == "models":
        models = list(catalog.models.values())
        context["models"] = [(m, catalog_filters.capabilities_of(m), catalog_filters.is_available(m)) for m in models]
    elif slug == "routing":
        context["providers"] = sorted(catalog.providers)
    elif slug == "credits":
        context["packages"] = list(payments.PACKAGES.values())
        context["best_value"] = payments.best_value(payments.PACKAGES.values())
        context["min_custom"] = payments.MIN_CUSTOM_CENTS // 100
        context["max_custom"] = payments.MAX_CUSTOM_CENTS // 100
    elif slug == "rate-limits":
        context["plans"] = runtime.get().plan_limits.table()
        context["free_daily_limit"] = runtime.get().free_daily_limit
    elif slug == "errors":
        context["errors"] = [
            (status, code, text, ANTHROPIC_TYPES.get(code, "api_error")) for status, code, text in ERRORS
        ]
    elif slug == "responses":
        context["retention_days"] = current_app.config["LUMYX_RESPONSES_RETENTION_DAYS"]
    elif slug == "usage":
        context["free_daily_limit"] = runtime.get().free_daily_limit
    return render_template(f"docs/{slug}.html", **context)
