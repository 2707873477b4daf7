"""The web side: pages for people (home for now; docs, catalog and dashboard grow here)."""
from flask import Blueprint, Flask, render_template, request

from .. import runtime
from .webhooks import webhooks

pages = Blueprint("pages", __name__)


@pages.get("/")
def home():
    catalog = runtime.get().catalog.current()
    base_url = request.host_url.rstrip("/") + "/v1"
    return render_template("home.html", models=list(catalog.models.values()), base_url=base_url)


def init_app(app: Flask) -> None:
    app.register_blueprint(pages)
    app.register_blueprint(webhooks)
