"""The web side: pages for people. Home, docs, the model catalog, accounts,
the dashboard (keys, credits, usage, settings) and admin; Stripe's webhook."""

from flask import Blueprint, Flask, render_template, request

from lumyx import runtime
from lumyx.catalog import filters as catalog_filters
from lumyx.web.webhooks import webhooks

pages = Blueprint("pages", __name__)


@pages.get("/")
def home():
    catalog = runtime.get().catalog.current()
    models = list(catalog.models.values())
    return render_template(
        "home.html",
        models=models[:8],
        model_count=len(models),
        available=[m for m in models if catalog_filters.is_available(m)],
        origin=request.host_url.rstrip("/"),
    )


def init_app(app: Flask) -> None:
    from lumyx.web import admin, auth, catalog, dashboard, docs, render, security

    security.init_app(app)
    render.init_app(app)
    app.register_blueprint(pages)
    app.register_blueprint(docs.bp)
    app.register_blueprint(catalog.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(webhooks)
