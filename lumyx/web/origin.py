"""Forms are sent from this site: a request that changes something (POST, PUT,
PATCH, DELETE) to a web page is refused with 403 when the browser says it comes
from another origin, whatever CSRF token it carries. The ``Origin`` header decides
when present; without it, the ``Referer`` does when present; a request with
neither (not a browser's) is left to the CSRF check alone.

Stripe's webhook and the API (bearer keys, no cookies) are not web forms and
are not checked."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, request

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def site_origins() -> set[str]:
    """This site's own origins (``scheme://host[:port]``): the address the request
    came to (its Host is an allowed one, lumyx.public_url) and ``LUMYX_PUBLIC_URL``'s."""
    origins = {origin_of(request.host_url)}
    public = current_app.config.get("LUMYX_PUBLIC_URL")
    if public:
        origins.add(origin_of(public))
    origins.discard(None)
    return origins


def origin_of(url: str) -> str | None:
    """The origin of a URL, lower-cased, or None when it has none (``null``, a path)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin() -> None:
    """Before a web view: 403 for a change sent from another origin."""
    if request.method not in CHANGES:
        return
    claimed = request.headers.get("Origin")
    if claimed is None:
        claimed = request.headers.get("Referer")
        if claimed is None:
            return
    if origin_of(claimed) not in site_origins():
        abort(403, description="This form was sent from another site. Send it again from this site's page.")
