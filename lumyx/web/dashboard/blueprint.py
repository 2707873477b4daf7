"""The dashboard's blueprint, under /dashboard; each page module adds its routes to it."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import login_required

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("")
@login_required
def index():
    return redirect(url_for(".usage"))
