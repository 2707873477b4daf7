"""Credits: the balance, the packages and a custom amount bought through Stripe
Checkout (throttled per account), the pages Stripe sends the buyer back to, and
the ledger history."""

from __future__ import annotations

import logging

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from lumyx import public_url
from lumyx.accounts.ledger_history import ledger_page
from lumyx.accounts.paging import Page, page_number
from lumyx.billing import payments
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.extensions import limiter
from lumyx.web.forms import ActionForm, CustomAmountForm
from lumyx.web.render import page, private

log = logging.getLogger("lumyx.web.credits")
LEDGER_PAGE_SIZE = 20
# Checkouts an account may start (each one is a Stripe API call), counted per account.
CHECKOUT_LIMIT = "10 per minute; 60 per hour"


def _ledger_page() -> Page:
    return ledger_page(current_user.id, page_number(request.args.get("page")), LEDGER_PAGE_SIZE)


def _ledger_page_url(number: int) -> str:
    return url_for(".credits", page=number)


def _credits_page(custom: CustomAmountForm, status: int = 200):
    response = page(
        "dashboard/credits.html",
        "dashboard/partials/_ledger.html",
        private=True,
        custom=custom,
        action=ActionForm(),
        packages=list(payments.PACKAGES.values()),
        best_value=payments.best_value(payments.PACKAGES.values()),
        configured=payments.is_configured(),
        ledger=_ledger_page(),
        page_url=_ledger_page_url,
        min_custom=payments.MIN_CUSTOM_CENTS // 100,
        max_custom=payments.MAX_CUSTOM_CENTS // 100,
    )
    response.status_code = status
    return response


@bp.get("/credits")
@login_required
def credits():
    return _credits_page(CustomAmountForm(formdata=None))


def _checkout_throttled(_limit) -> Response:
    flash("That is many checkouts in a short time. Wait a minute, then try again.", "error")
    return redirect(url_for(".credits"), code=303)


@bp.post("/credits/checkout")
@login_required
@limiter.limit(
    CHECKOUT_LIMIT, key_func=lambda: f"checkout:{current_user.id}", methods=["POST"], on_breach=_checkout_throttled
)
def credits_checkout():
    """Starts a Stripe Checkout for a package (``package``) or a custom amount (``amount``)."""
    package = request.form.get("package") or None
    custom = CustomAmountForm()
    if package is None:
        if not custom.validate_on_submit():
            return _credits_page(custom, status=400)
        amount = custom.amount.data
    else:
        if not ActionForm().validate_on_submit():
            abort(400)
        amount = None
    try:
        url = payments.start_checkout(
            current_user,
            package=package,
            amount_usd=amount,
            success_url=public_url.url(url_for(".credits_success")) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=public_url.url(url_for(".credits_cancel")),
        )
    except payments.NotConfigured:
        flash("Payments are not configured on this instance. Ask its operator to set the Stripe keys.", "error")
    except payments.InvalidPurchase as exc:
        flash(f"That purchase is not possible: {exc}.", "error")
    except payments.StripeUnavailable as exc:
        flash(f"{exc}.", "error")
    else:
        return redirect(url, code=303)
    return redirect(url_for(".credits"), code=303)


@bp.get("/credits/success")
@login_required
def credits_success():
    return private("dashboard/credits_return.html", paid=True)


@bp.get("/credits/cancel")
@login_required
def credits_cancel():
    return private("dashboard/credits_return.html", paid=False)
