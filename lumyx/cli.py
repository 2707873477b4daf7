"""The operator's commands: ``flask --app app <command>``.

Each exits non-zero with a one-line reason on bad input.
"""

from __future__ import annotations

import click
from flask import Flask, current_app

from lumyx import money
from lumyx.accounts import keys
from lumyx.accounts import users as accounts
from lumyx.billing import janitor, ledger
from lumyx.catalog import file as catalog_file


def _fail(message: str):
    raise click.ClickException(message)


def _credits(amount: str) -> int:
    try:
        return money.credits_to_micro(amount)
    except ValueError as exc:
        _fail(f"bad amount {amount!r}: {exc}")


@click.command("create-user")
@click.argument("email")
@click.option("--password", required=True)
@click.option("--plan", default="free", show_default=True)
@click.option("--credits", "credits_", default="0", show_default=True)
@click.option("--admin", is_flag=True)
def create_user(email, password, plan, credits_, admin):
    """Create a user."""
    try:
        user = accounts.create_user(email, password, plan=plan, credits_micro=_credits(credits_), is_admin=admin)
    except accounts.AccountError as exc:
        _fail(str(exc))
    click.echo(f"created user {user.email} (plan {user.plan}, credits {money.format_credits(user.balance, 2)})")


@click.command("create-key")
@click.argument("email")
@click.option("--name", default="", help="A label to recognise the key by.")
@click.option("--limit", default=None, help="Credits the key may spend in all (default: no limit of its own).")
@click.option("--models", default=None, help="Comma-separated catalog model ids the key may use (default: any).")
@click.option("--expires-days", default=None, help="Days until the key stops working (default: never).")
def create_key(email, name, limit, models, expires_days):
    """Create an API key; prints it as the last line (shown only this once)."""
    try:
        user = accounts.require_by_email(email)
        limits = keys.KeyLimits.parse(limit, models, expires_days, known_models=keys.catalog_model_ids())
    except (accounts.AccountError, keys.KeyLimitError) as exc:
        _fail(str(exc))
    row, full = keys.create_key(user, name, limits)
    click.echo(f"API key for {user.email} (store it now, it is not shown again):")
    if row.spend_limit is not None:
        click.echo(f"  limit: {money.format_credits(row.spend_limit, 2)} credits")
    if row.models:
        click.echo(f"  models: {', '.join(row.model_list)}")
    if row.expires_at is not None:
        click.echo(f"  expires: {row.expires_at:%Y-%m-%d %H:%M} UTC")
    click.echo(full)


@click.command("add-credits", context_settings={"ignore_unknown_options": True})
@click.argument("email")
@click.argument("amount")
@click.option("--note", default="", help="Why, for the ledger.")
def add_credits(email, amount, note):
    """Add credits (negative AMOUNT removes) through the ledger."""
    micro = _credits(amount)
    if micro == 0:
        _fail("amount must not be zero")
    try:
        user = accounts.require_by_email(email)
        entry = ledger.post(user.id, micro, "adjustment" if micro < 0 else "grant", note=note or "added by an operator")
    except accounts.AccountError as exc:
        _fail(str(exc))
    except ledger.InsufficientBalance:
        _fail(f"cannot remove {amount} credits: the balance would go below zero")
    click.echo(f"{email}: balance {money.format_credits(entry.balance_after, 2)} credits")


@click.command("load-catalog")
@click.argument("path", required=False)
def load_catalog(path):
    """Upsert providers and models from a catalog file (default: LUMYX_CATALOG)."""
    path = path or current_app.config["LUMYX_CATALOG"]
    try:
        result = catalog_file.load(path)
    except catalog_file.CatalogError as exc:
        _fail(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc))
    click.echo(f"loaded {result.providers} providers and {result.models} models from {path}")


@click.command("prepare")
def prepare():
    """Start-up chores of `make run`: load the catalog, ensure the admin account."""
    path = current_app.config["LUMYX_CATALOG"]
    try:
        result = catalog_file.load(path)
    except catalog_file.CatalogError as exc:
        _fail(f"{path}: {exc}")
    click.echo(f"loaded {result.providers} providers and {result.models} models from {path}")
    email, password = current_app.config["LUMYX_ADMIN_EMAIL"], current_app.config["LUMYX_ADMIN_PASSWORD"]
    if email and password:
        try:
            accounts.ensure_admin(email, password)
        except accounts.AccountError as exc:
            _fail(f"LUMYX_ADMIN_EMAIL: {exc}")
        click.echo(f"admin account {email} is ready")


@click.command("settle-holds")
@click.option("--minutes", default=5, show_default=True, help="Settle holds not refreshed for this long.")
def settle_holds(minutes):
    """Release credit holds left by stopped workers (each worker also does this every minute)."""
    from datetime import timedelta

    count = janitor.settle_orphans(timedelta(minutes=minutes))
    click.echo(f"released {count} orphaned holds")


@click.command("reconcile-payments")
@click.option(
    "--days",
    default=7,
    show_default=True,
    type=click.IntRange(min=1),
    help="How far back to look at Stripe Checkout sessions.",
)
def reconcile_payments(days):
    """Credit paid Stripe checkouts whose webhook never arrived."""
    from datetime import timedelta

    from lumyx.billing import payments
    from lumyx.db import db
    from lumyx.db.models import User
    from lumyx.db.models._types import utcnow

    try:
        fixed = payments.reconcile(utcnow() - timedelta(days=days))
    except (payments.NotConfigured, payments.StripeUnavailable) as exc:
        _fail(str(exc))
    for item in fixed:
        email = db.session.get(User, item.user_id).email
        click.echo(
            f"credited {money.format_credits(item.credits, 2)} credits to {email} (Stripe session {item.session_id})"
        )
    click.echo(f"{len(fixed)} payment(s) credited")


class _Migrations(click.Group):
    """``flask db …``, the schema's migrations: Flask-Migrate's command group, loaded
    when the command is run. A serving worker never imports alembic (about 10 MB of
    memory each)."""

    def _load(self) -> click.Group:
        from flask_migrate import Migrate
        from flask_migrate.cli import db as commands

        from lumyx import config
        from lumyx.db import db

        app = current_app._get_current_object()
        if "migrate" not in app.extensions:
            Migrate(app, db, directory=str(config.ROOT / "migrations"))
        self.params, self.callback = commands.params, commands.callback
        return commands

    def parse_args(self, ctx, args):
        self._load()
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):
        return self._load().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._load().get_command(ctx, name)


def init_app(app: Flask) -> None:
    for command in (create_user, create_key, add_credits, load_catalog, prepare, settle_holds, reconcile_payments):
        app.cli.add_command(command)
    app.cli.add_command(_Migrations("db", help="Perform database migrations."))
