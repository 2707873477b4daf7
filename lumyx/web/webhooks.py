"""Stripe's webhook: ``POST /webhooks/stripe``. Always answers JSON; the work is in
lumyx.billing.payments."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from lumyx.billing import payments
from lumyx.web.extensions import csrf

log = logging.getLogger("lumyx.webhooks")

webhooks = Blueprint("webhooks", __name__)


@webhooks.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    try:
        result = payments.handle_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
    except payments.InvalidWebhook as exc:
        return jsonify(error=str(exc)), 400
    except payments.NotConfigured as exc:
        return jsonify(error=str(exc)), 503
    return jsonify(received=True, result=result)


@webhooks.errorhandler(Exception)
def _error(err: Exception):
    if isinstance(err, HTTPException):
        return jsonify(error=err.description or err.name), err.code
    # Stripe retries a failed delivery; crediting is idempotent.
    log.exception("Stripe webhook failed")
    return jsonify(error="internal error; retry later"), 500
