"""Rendering shared by the web blueprints: a page or, for an HTMX request, only
its partial; the HTML error page, the web side's answer to any error; and the
formatting filters the templates use."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, make_response, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from lumyx import errors, money


def wants_partial() -> bool:
    """An HTMX request that swaps part of a page (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def page(template: str, partial: str, *, private: bool = False, **context):
    """The whole page, or only ``partial`` when HTMX asks; the same context either way."""
    response = make_response(render_template(partial if wants_partial() else template, **context))
    response.vary.add("HX-Request")
    if private:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def private(template: str, **context):
    """A page about one account: never stored by a cache."""
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The site's own words for the errors a reader meets, in place of the server's stock text.
SITE_WORDS = {
    404: ("Page not found", "There is no page at this address. It may have moved, or a letter may be off."),
    403: (
        "Not allowed",
        "Your account cannot open this page. If you think it should, ask the operator of this instance.",
    ),
}


def way_back() -> str | None:
    """The page of this site the reader came from (its Referer), when there is one."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or referrer.path == request.path:
        return None
    return referrer.path + ("?" + referrer.query if referrer.query else "")


def error_page(status: int, title: str, description: str | None):
    """The short HTML page of an error: its status, its name, what happened, and the way back."""
    try:
        return render_template(
            "error.html", status=status, title=title, description=description, back=way_back(), path=request.path
        )
    except Exception:  # the error page itself must never fail
        return f"<h1>{status} {title}</h1>"


def answer_errors(blueprint: Blueprint) -> None:
    """Every error of a request the blueprint serves answers the HTML error page."""
    blueprint.register_error_handler(HTTPException, _http_error)
    for kind in errors.DATABASE_DOWN:
        blueprint.register_error_handler(kind, _database_unavailable)
    blueprint.register_error_handler(DataError, _unstorable_input)
    blueprint.register_error_handler(Exception, _unexpected)


def _http_error(err: HTTPException):
    if err.response is not None:  # an error that carries its own answer (a form throttle's message)
        return err.response
    title, description = err.name, err.description
    if err.code in SITE_WORDS and description == type(err).description:
        title, description = SITE_WORDS[err.code]
    return error_page(err.code or 500, title, description), err.code


def _database_unavailable(err: Exception):
    errors.database_unavailable(err)
    return error_page(503, "Service unavailable", "The database is not reachable; retry shortly."), 503


def _unstorable_input(err: DataError):
    errors.unstorable_input()
    return error_page(400, "Bad request", "A value contains characters that cannot be stored."), 400


def _unexpected(err: Exception):
    errors.unexpected()
    return error_page(500, "Internal server error", "Something went wrong on our side."), 500


def credits(micro: int | None, places: int = 2) -> str:
    """µcr as credits for reading: 1,234.50 (rounded down, never shown as more than it is)."""
    value = money.micro_to_credits(micro or 0).quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)
    return f"{value:,.{places}f}"


def usd_per_million(micro_per_million: int) -> str:
    """A model price (µcr per 1M tokens) as dollars: $1.75, $0.02, $0.0005."""
    usd = money.micro_price_to_usd(micro_per_million)
    if usd == 0:
        return "$0"
    text = format(usd.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"${int(whole):,}.{frac.ljust(2, '0')}" if frac else f"${int(whole):,}.00"


def tokens(count: int | None) -> str:
    """A token count for reading: 950, 128K, 1M, 1.05M."""
    count = int(count or 0)
    if count >= 1_000_000:
        text = f"{count / 1_000_000:.2f}".rstrip("0").rstrip(".")
        return text + "M"
    if count >= 1_000:
        text = f"{count / 1_000:.1f}".rstrip("0").rstrip(".")
        return text + "K"
    return str(count)


def when(value: datetime | str | None, tz_name: str | None = None, seconds: bool = False) -> str:
    """A UTC timestamp (naive UTC or ISO 8601) for reading: 2026-03-19 14:30 UTC, or in
    the timezone ``tz_name``: 2026-03-19 10:30 EDT; with ``seconds``: 2026-03-19 10:30:05 EDT."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if tz_name:
        try:
            value = value.astimezone(ZoneInfo(tz_name))
        except (KeyError, ValueError):
            pass
    else:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S " if seconds else "%Y-%m-%d %H:%M ") + (value.tzname() or "UTC")


def init_app(app: Flask) -> None:
    app.add_template_filter(credits, "credits")
    app.add_template_filter(usd_per_million, "usd_per_million")
    app.add_template_filter(tokens, "tokens")
    app.add_template_filter(when, "when")
    app.jinja_env.globals["thousands"] = lambda n: f"{int(n or 0):,}"
