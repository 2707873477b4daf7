"""``GET /metrics``: the Prometheus text of lumyx.observability.metrics, with what
is read at scrape time added: the credit holds outstanding (one count of the
holds table) and each route's circuit state (one read of the shared breakers).

Who may read it: with ``LUMYX_METRICS_TOKEN`` set, a request carrying
``Authorization: Bearer <token>`` (401 otherwise); unset, clients connecting
from this machine's own address, 127.0.0.1 or ::1, only (403 otherwise). The client's address is the one the trusted proxies report
(``LUMYX_TRUSTED_PROXIES``). The answer is plain text whatever happens; the
``Host`` a scraper sends is not checked (the page holds no links).
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client.core import GaugeMetricFamily

from lumyx import runtime
from lumyx.billing import holds
from lumyx.errors import DATABASE_DOWN
from lumyx.observability import metrics
from lumyx.routing import breakers

log = logging.getLogger("lumyx.metrics")

blueprint = Blueprint("metrics", __name__)

LOCAL_CLIENTS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
CIRCUIT_VALUES = {breakers.CLOSED_S: 0, breakers.HALF_OPEN_S: 1, breakers.OPEN_S: 2}


class HoldsOutstanding:
    """``lumyx_holds_outstanding``, counted in the database at scrape time."""

    def collect(self):
        try:
            count = holds.outstanding()
        except DATABASE_DOWN:
            metrics.storage_error("database")
            return
        except Exception:
            log.exception("could not count the holds outstanding")
            return
        gauge = GaugeMetricFamily("lumyx_holds_outstanding", "Credit holds open now (calls being served, or orphaned).")
        gauge.add_metric([], count)
        yield gauge


class CircuitStates:
    """``lumyx_route_circuit_state``: 0 closed, 1 half-open, 2 open, per catalog model
    and provider (the worst of a model's routes on one provider)."""

    def collect(self):
        try:
            catalog = runtime.get().catalog.current()
            routes = [(model.id, route) for model in catalog.models.values() for route in model.routes]
            states = breakers.states([route for _, route in routes])
        except DATABASE_DOWN:  # (the catalog is re-read from the database)
            metrics.storage_error("database")
            return
        except Exception:
            log.exception("could not read the circuit states")
            return
        worst: dict[tuple[str, str], int] = {}
        for (model_id, route), state in zip(routes, states, strict=True):
            labels = (model_id, route.provider.id)
            worst[labels] = max(worst.get(labels, 0), CIRCUIT_VALUES[state])
        gauge = GaugeMetricFamily(
            "lumyx_route_circuit_state",
            "Circuit breaker of a model's route on a provider: 0 closed, 1 half-open, 2 open.",
            labels=["model", "provider"],
        )
        for labels, value in worst.items():
            gauge.add_metric(list(labels), value)
        yield gauge


def _text(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain", headers=headers)


def _refusal() -> Response | None:
    token = current_app.config.get("LUMYX_METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _text(401, "Send the metrics token: Authorization: Bearer <token>.", {"www-authenticate": "Bearer"})
        return None
    if request.remote_addr not in LOCAL_CLIENTS:
        return _text(403, "Metrics are served to this machine only; set LUMYX_METRICS_TOKEN to scrape from elsewhere.")
    return None


@blueprint.get("/metrics")
def scrape():
    refusal = _refusal()
    if refusal is not None:
        return refusal
    body = metrics.exposition(HoldsOutstanding(), CircuitStates())
    return Response(body, headers={"content-type": metrics.CONTENT_TYPE, "cache-control": "no-store"})


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.any_host_endpoints.add("metrics.scrape")
