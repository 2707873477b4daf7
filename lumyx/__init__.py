"""Lumyx: a self-hostable LLM API gateway and developer portal.

One Flask app serves two sides that share nothing per request: the API
(lumyx.api: keys, plan limits, JSON errors in the endpoint's wire format) and
the web pages (lumyx.web: sessions, CSRF, log-ins, form throttles, security
headers, HTML error pages). Each side's hooks and error handlers belong to its
own blueprints; the app itself has none. A URL that no route matches is given
to the blueprint that owns that part of the URL space (``Lumyx.unmatched_urls``),
so unknown URLs and wrong methods are answered by the right side too.

The package may import every other package of lumyx (it assembles them).
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.ctx import RequestContext
from flask.sessions import NullSession, SessionMixin
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, Map, Rule

from lumyx import config, log_redaction, public_url
from lumyx.observability import logs
from lumyx.server.request_body import BodyCappedRequest


class RestOfPath(BaseConverter):
    """``<rest:name>``: the rest of a URL path, slashes included, possibly empty."""

    regex = ".*"
    part_isolating = False


class _Unopened(NullSession):
    """The session of a request until something uses it."""


UNOPENED = _Unopened()


class LumyxRequestContext(RequestContext):
    """Flask's request context, with two differences.

    * The session cookie is read when something first uses the session. The
      web pages do (their hooks and views); the API never does, so an API
      request neither reads nor sets a cookie.
    * A request that no route matches (an unknown URL, or a method its routes do
      not take) is given to the blueprint that owns that URL in
      ``Lumyx.unmatched_urls``: its error handlers answer the 404 or 405, and its
      hooks run, as for any request it serves.
    * So is a request whose ``Host`` this server does not answer
      (lumyx.public_url): the owner answers 400 in its format (the HTML error
      page, or the API's JSON in the endpoint's wire format), and no view, key
      check, CSRF check or throttle of the route it matched runs.
    """

    def __init__(self, app: Lumyx, environ: dict, request=None, session: SessionMixin | None = None) -> None:
        super().__init__(app, environ, request, UNOPENED if session is None else session)

    @property
    def session(self) -> SessionMixin:
        if self._session is UNOPENED:
            interface = self.app.session_interface
            session = interface.open_session(self.app, self.request)
            self._session = interface.make_null_session(self.app) if session is None else session
        self._session.accessed = True
        return self._session

    def match_request(self) -> None:
        super().match_request()
        request = self.request
        rule = request.url_rule
        if (rule is None or rule.endpoint not in self.app.any_host_endpoints) and not public_url.allows(
            self.app.config, request.headers.get("Host"), request.host
        ):
            request.routing_exception = public_url.UnknownHost()
        if isinstance(request.routing_exception, NotFound | MethodNotAllowed | public_url.UnknownHost):
            try:
                owner, _ = self.app.unmatched_urls.bind_to_environ(self.request.environ).match(return_rule=True)
            except HTTPException:
                return  # no owner: the app's own (Flask's) answer
            request.url_rule = owner


class Lumyx(Flask):
    """Flask, with the request context above, the table of which blueprint
    answers URLs no route matches, a memory of which views and hooks need
    wrapping for async (Flask otherwise inspects each of them again on every
    request), and requests whose body is held to the limit whatever its transfer
    encoding (lumyx.server.request_body)."""

    request_class = BodyCappedRequest

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: dict = {}
        # Which blueprint answers a URL no route matches: each side adds the parts of the URL space it owns.
        self.unmatched_urls = Map(converters={"rest": RestOfPath}, merge_slashes=False)
        # Endpoints answered whatever the request's Host (their answers hold no links).
        self.any_host_endpoints: set[str] = set()

    def answer_unmatched(self, blueprint: str, *rules: str) -> None:
        """URLs of ``rules`` (werkzeug rule strings; ``<rest:rest>`` takes any rest of
        the path) that no route matches are answered by the blueprint named."""
        for rule in rules:
            self.unmatched_urls.add(Rule(rule, endpoint=f"{blueprint}.unmatched"))

    def request_context(self, environ: dict) -> LumyxRequestContext:
        return LumyxRequestContext(self, environ)

    def ensure_sync(self, func):
        try:
            return self._synchronous[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self._synchronous) < 10_000:  # views and hooks are few; anything else is not kept
                self._synchronous[func] = sync
            return sync


def create_app(overrides: dict | None = None) -> Flask:
    # No static folder of the app's own: the web pages serve /static/ (lumyx.web), with their headers.
    app = Lumyx(__name__, template_folder="../templates", static_folder=None, instance_path=str(config.INSTANCE))
    app.config.from_mapping(config.from_environment())
    if overrides:
        app.config.from_mapping(overrides)
    app.json.sort_keys = False
    _logging(app.config["LUMYX_LOG_FORMAT"])
    # Behind N reverse proxies, the client's address, scheme and host are what the
    # nearest N of them say (X-Forwarded-For/-Proto/-Host); else they are never read.
    proxies = app.config["LUMYX_TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    from lumyx import cli, runtime, web
    from lumyx.api import register as api
    from lumyx.db import db, models  # noqa: F401  (the models register with the metadata)
    from lumyx.limits import plans as rate_limits
    from lumyx.routing import breakers
    from lumyx.server import metrics_endpoint

    db.init_app(app)
    runtime.init_app(app)
    rate_limits.configure(app)
    breakers.configure(app.config)  # after the rate limits: the same shared store and prefix
    api.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    metrics_endpoint.init_app(app)
    return app


def _logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logs.formatter(log_format))
    log_redaction.install(handler)
    root = logging.getLogger()
    if log_format == "json" and not root.handlers:
        # Libraries' warnings and errors (the trace exporter's among them) as JSON too.
        root.addHandler(handler)
    for other in logging.getLogger("gunicorn.error").handlers + root.handlers:
        log_redaction.install(other)
    # flask-limiter says when its counter store goes away and comes back.
    for name in ("lumyx", "flask-limiter"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
