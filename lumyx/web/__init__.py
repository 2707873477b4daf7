"""The web side: pages for people. Home, docs, the model catalog, accounts,
the dashboard (keys, credits, usage, settings) and admin; the site's static
files and, at its root, the API's OpenAPI description; Stripe's webhook.

Every blueprint of the web side runs the web side's hooks and answers its
errors with the HTML error page (lumyx.web.security.web_side); Stripe's webhook
answers JSON and sends no page headers. A URL outside the API that no route
matches is answered by ``unmatched_page`` (under ``/webhooks/``:
``unmatched_webhook``), with the same answers, and no CSRF check or throttle,
as no view runs.

May import the features (accounts, billing, catalog, agents, usage, limits),
the layers below them and lumyx.runtime; never lumyx.api.
"""

from flask import Blueprint, Flask, Response, render_template

from lumyx import public_url, runtime
from lumyx.catalog import filters as catalog_filters
from lumyx.usage import live
from lumyx.web import admin, auth, catalog, dashboard, docs, extensions, render, security
from lumyx.web.webhooks import webhooks
from lumyx.wire import openapi

# The pages of no section, the site's static files (/static/…, with the pages' headers),
# and the API's description at the site's root.
pages = Blueprint("pages", __name__, static_folder="../../static", static_url_path="/static")
unmatched_page = Blueprint("unmatched_page", __name__)
unmatched_webhook = Blueprint("unmatched_webhook", __name__)
HOME_MODELS = 8  # the models the home page lists, those served first


@pages.get("/")
def home():
    catalog = runtime.get().catalog.current()
    models = list(catalog.models.values())
    statuses = live.statuses(models)
    down = {model_id for model_id, status in statuses.items() if status == live.DOWN}
    return render_template(
        "home.html",
        models=[(m, statuses[m.id]) for m in catalog_filters.available_first(models, down)[:HOME_MODELS]],
        model_count=len(models),
        served=sum(status == live.AVAILABLE for status in statuses.values()),
        origin=public_url.base_url(),
    )


@pages.get("/openapi.json")
def openapi_json():
    """The API's OpenAPI description (the API serves it under its prefixes too)."""
    return Response(openapi.spec_json(), mimetype="application/json", headers={"Cache-Control": openapi.CACHE_CONTROL})


BLUEPRINTS = (
    *(security.web_side(page) for page in (pages, docs.bp, catalog.bp, auth.bp, dashboard.bp, admin.bp)),
    security.web_side(webhooks, headers=False, errors=False, forms=False),
    security.web_side(unmatched_page, checks=False),
    security.web_side(unmatched_webhook, checks=False, headers=False),
)


def init_app(app: Flask) -> None:
    extensions.init_app(app)
    security.init_app(app)
    render.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    # url_for("static", filename=…) builds the address of a file the pages serve.
    app.add_url_rule(pages.static_url_path + "/<path:filename>", endpoint="static", build_only=True)
    app.answer_unmatched(unmatched_page.name, "/<rest:rest>")
    app.answer_unmatched(unmatched_webhook.name, "/webhooks/<rest:rest>")
