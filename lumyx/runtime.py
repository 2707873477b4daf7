"""What a worker process keeps from one request to the next: every cache, pool
and connection, listed here with what renews it.

Each gunicorn worker makes its app after the fork (gunicorn.conf.py: no
preload), and with it the app's :class:`Runtime` (:func:`init_app`); views
reach it with :func:`get` and hand features what they need. Imports: the
features and lower layers whose state it holds; imported by the views and the
app factory only (no feature imports it).

Each piece, what holds it, and what renews it:

``catalog`` (catalog.snapshot.CatalogCache): the catalog snapshot. Re-read
    when the catalog tables' fingerprint changed, checked at most every
    LUMYX_CATALOG_REFRESH_SECONDS; ``invalidate()`` checks at the next use.
``keys`` (accounts.keys.KeyCache): authenticated keys, hits and misses, and
    when each key's last use was written. An entry expires after
    LUMYX_AUTH_CACHE_SECONDS; ``clear()`` drops all (a key revoked or a plan
    changed: this worker at once, the others within those seconds), as does
    reaching 50,000 entries.
``plan_limits`` (limits.plans.PlanLimiter): the plans' limits, the counter
    store's client, and the counters kept in memory while the store is down.
    The limits are read at start only (LUMYX_LIMITS_*); a store that failed is
    tried again after 1, 2, 4 … 16 s.
``health`` (usage.health.cache): requests and failures per model and per
    provider. Read again after 30 s, or after ``clear()``.
``upstreams`` (providers.http.clients): a client per upstream address and
    timeout, with its kept-alive connections. Never dropped; an idle connection
    is checked before reuse, a broken one closed.
``db_connections`` (db.driver.connections): up to 8 driver connections kept
    checked out for holds and settlements, the most it writes on at once (a
    ninth write waits its turn). One idle for over a second is
    pinged first (PostgreSQL), a broken one replaced; all when the engine changes.
    On PostgreSQL, a key's settlements waiting for a turn meanwhile form one batch
    (db.postgres_writes.postgres_writes, emptied as each batch is sent).
``checkpoints`` (db.checkpoints.running): on SQLite, the connection the
    worker's log checkpoints use from a thread of gevent's pool, every 50 ms;
    reopened after a failure. Started by wsgi.py after the fork.
Flask-SQLAlchemy's engine (lumyx.db): the database pool. A connection idle for
    over a second is pinged first (PostgreSQL) and replaced when that fails.
The counter stores' clients, the plan limiter's and Flask-Limiter's
    (web.extensions.limiter): each store notices a fork itself (limits.storage).
``routing`` (routing.measurements.measurements, routing.breakers.board,
    routing.store.shared): what each route did over the last five minutes (this
    worker's own), the breakers as this worker last read them, and the client of
    the store every worker shares breakers and conversations' routes in (made by
    the app factory from the settings; each store notices a fork itself).
``store_pings`` (db.readiness.StorePings): the last answer of the database's
    ping (and Redis's, when REDIS_URL is set, with a client of its own), renewed
    at most every second by the next readiness check.
``holds_in_flight`` (billing.holds.in_flight): request ids of this worker's
    credit holds. One leaves when its call is settled; the janitor refreshes
    them every minute.
``settlement journal`` (billing.journal.journal): this worker's journal file of
    settlements that found the database unreachable, opened and locked at the
    first; emptied once they are made.

Made once per process and never renewed (they cannot change while it runs):
the PostgreSQL text of the driver's statements (db.postgres_writes._compiled) and the
statements compiled per dialect (billing.holds, billing.free_cap); the
tokenizer (gateway.tokens); what is read from files once (the doc samples,
catalog.samples.registry; the OpenAPI document, wire.openapi.spec_json;
the time zone names, accounts.users.timezones); the Stripe clients per key
(billing.payments); Flask's wrappers of views and hooks (lumyx.Lumyx). The
agents' docs search index (agents.tools.docs_search._index) is remade when a file it reads
changes.

In a forked child nothing of the parent's is used: the pieces the app's
settings shape (``catalog``, ``keys``, ``plan_limits``) are made anew on first
use, the per-process ones emptied, the database pools restarted, and the
parent's connections left open for the parent.

State a worker keeps for the request path is an attribute of :class:`Runtime`
and an entry above: a ``cached_property`` when the app's settings shape it
(made on first use, forgotten in a forked child), else an object of the lower
layer that uses it (which cannot import this module), emptied by
:func:`_forget_the_parents_state`.
"""

from __future__ import annotations

import os
import weakref
from functools import cached_property

from flask import Flask, current_app

from lumyx.accounts.keys import KeyCache
from lumyx.billing import holds, journal
from lumyx.catalog.snapshot import CatalogCache
from lumyx.db import driver, forget_inherited_pools, postgres_writes
from lumyx.db.readiness import StorePings
from lumyx.limits.plans import PlanLimiter
from lumyx.providers import http
from lumyx.routing import breakers, measurements
from lumyx.usage import health as model_health


class Runtime:
    """The state of one app in this worker process. An attribute read on the
    request path costs one look-up: each piece is made on its first use."""

    def __init__(self, app: Flask) -> None:
        self._app = weakref.ref(app)
        self._config = app.config
        self.free_daily_limit: int = app.config["LUMYX_FREE_DAILY_LIMIT"]
        _runtimes.add(self)

    # -- shaped by the app's settings: made on first use in each process

    @cached_property
    def catalog(self) -> CatalogCache:
        return CatalogCache(self._config["LUMYX_CATALOG_REFRESH_SECONDS"])

    @cached_property
    def keys(self) -> KeyCache:
        return KeyCache(self._config["LUMYX_AUTH_CACHE_SECONDS"])

    @cached_property
    def plan_limits(self) -> PlanLimiter:
        return PlanLimiter.for_app(self._config)

    @cached_property
    def store_pings(self) -> StorePings:
        return StorePings(self._config.get("REDIS_URL"))

    # -- one per process, kept by the lower layer that uses it

    @property
    def health(self) -> model_health.HealthCache:
        return model_health.cache

    @property
    def upstreams(self) -> http.UpstreamClients:
        return http.clients

    @property
    def db_connections(self) -> driver.DriverConnections:
        return driver.connections

    @property
    def holds_in_flight(self) -> holds.InFlightHolds:
        return holds.in_flight

    def _forget(self) -> None:
        for name in _MADE_ON_FIRST_USE:
            self.__dict__.pop(name, None)
        app = self._app()
        if app is not None:
            forget_inherited_pools(app)


_MADE_ON_FIRST_USE = tuple(name for name, value in vars(Runtime).items() if isinstance(value, cached_property))
_runtimes: weakref.WeakSet[Runtime] = weakref.WeakSet()  # every app's in this process


def init_app(app: Flask) -> None:
    app.extensions["lumyx"] = Runtime(app)


def get() -> Runtime:
    return current_app.extensions["lumyx"]


def _forget_the_parents_state() -> None:
    """In a forked child: the parent's caches, clients and connections are the parent's."""
    driver.connections.forget()
    driver.sqlite_writes.forget()
    postgres_writes.postgres_writes.forget()
    http.clients.forget()
    model_health.cache.forget()
    holds.in_flight.forget()
    measurements.measurements.forget()
    breakers.board.seen.clear()
    breakers.board.read_at.clear()
    journal.journal.forget()
    for runtime in list(_runtimes):
        runtime._forget()


os.register_at_fork(after_in_child=_forget_the_parents_state)
