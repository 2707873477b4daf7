"""The address clients reach the server at: the base URL of every absolute link
it hands out (the docs' samples, the catalog's share links, Stripe's return
addresses), and which ``Host`` headers it answers at all.

``LUMYX_PUBLIC_URL``, when set, is that base URL and the request's ``Host`` is
never used for it. Either way a request is answered only when its ``Host`` names
a loopback address, the public URL's host, or a name in ``LUMYX_ALLOWED_HOSTS``
(``.example.com`` takes every subdomain too); any other answers 400 on the web
pages and, in the endpoint's wire format, on the API (lumyx.LumyxRequestContext
gives it to the side that owns the URL). A request without a ``Host`` header
(HTTP/1.0) names nothing and is answered. Behind trusted proxies
(``LUMYX_TRUSTED_PROXIES``) the ``Host`` checked is their ``X-Forwarded-Host``.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.exceptions import BadRequest


class UnknownHost(BadRequest):
    """A request whose Host header names a host this server does not serve."""

    description = (
        "This server does not answer for the host the request names (its Host header); "
        "the names it serves are set by its operator (LUMYX_PUBLIC_URL, LUMYX_ALLOWED_HOSTS)."
    )


def host_name(host: str) -> str:
    """The name of a ``Host`` value, without its port: ``[::1]:80`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    """Whether a host (with or without its port) is this machine: ``localhost``,
    ``*.localhost``, 127.0.0.0/8, ``::1``."""
    name = host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_public_url(raw: str | None) -> str | None:
    """``LUMYX_PUBLIC_URL`` as the base URL links start with (no trailing slash),
    or None when unset. ValueError unless it is an http(s) URL of a host with no
    path, query or fragment."""
    raw = (raw or "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ValueError(f"expected an http(s) URL of a host, such as https://llm.example.com, got {raw!r}")
    if parts.username or parts.password:
        raise ValueError("must not carry a user name or password")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_host_list(raw: str | None) -> tuple[str, ...]:
    """``LUMYX_ALLOWED_HOSTS``: comma-separated host names (a port is ignored)."""
    return tuple(host_name(name) for name in (raw or "").split(",") if name.strip())


def allows(config: Mapping, host_header: str | None, host: str) -> bool:
    """Whether a request with this ``Host`` header (``host``: as werkzeug read it,
    empty when its characters are not a host's) is answered."""
    if host_header is None:
        return True
    names = config.get("LUMYX_ALLOWED_HOSTS") or ()
    return _allowed(
        host, config.get("LUMYX_PUBLIC_URL"), parse_host_list(names) if isinstance(names, str) else tuple(names)
    )


@functools.lru_cache(maxsize=1024)  # a few hosts, asked on every request
def _allowed(host: str, public: str | None, names: tuple[str, ...]) -> bool:
    if not host:
        return False
    if is_loopback(host):
        return True
    name = host_name(host)
    if public:
        names = (*names, host_name(urlsplit(public).netloc))
    return any(
        name == allowed or (allowed.startswith(".") and (name == allowed[1:] or name.endswith(allowed)))
        for allowed in names
    )


def base_url() -> str:
    """The base URL links start with, without a trailing slash: LUMYX_PUBLIC_URL,
    else the address this request came to (its Host is one that was allowed)."""
    return (current_app.config.get("LUMYX_PUBLIC_URL") or request.host_url).rstrip("/")


def url(path: str) -> str:
    """The absolute URL of a path on this site (``path`` starts with ``/``)."""
    return base_url() + path
