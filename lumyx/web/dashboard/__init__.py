"""The account dashboard: usage, API keys, credits, settings. One blueprint,
one small module per page."""

from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("")
@login_required
def index():
    return redirect(url_for(".usage"))


from lumyx.web.dashboard import credits, keys, personas, settings, usage  # noqa: E402,F401  (routes register on import)
