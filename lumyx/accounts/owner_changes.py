"""What the owner of an account changes on it from the settings page: the
password (ending the account's other web sessions), the e-mail address, and
closing the account.

Closing keeps the account's row, so the ledger, usage rows and payments that
point at it stay whole: the e-mail is replaced by a placeholder (the address is
free to sign up again), the password by one nobody knows, every key is revoked,
every web session ends, and the account's personas and stored Responses API
answers are deleted. The balance stays on the closed account; it is not refunded."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from lumyx.accounts import sessions
from lumyx.accounts.users import MIN_PASSWORD_LENGTH, AccountError, find_by_email, normalise_email
from lumyx.db import db
from lumyx.db.models import ApiKey, Persona, StoredResponse, StoredResponseItem, User
from lumyx.db.models._types import utcnow

MAX_PASSWORD_LENGTH = 200
CLOSED_EMAIL_DOMAIN = "closed.invalid"


def _require_password(user: User, password: str) -> None:
    if not check_password_hash(user.password_hash, password or ""):
        raise AccountError("the current password is wrong")


def change_password(user: User, current: str, new: str) -> None:
    """Sets a new password and ends every web session of the account (the caller
    logs its own browser in again with the new session generation)."""
    _require_password(user, current)
    if not MIN_PASSWORD_LENGTH <= len(new or "") <= MAX_PASSWORD_LENGTH:
        raise AccountError(f"use at least {MIN_PASSWORD_LENGTH} characters (and at most {MAX_PASSWORD_LENGTH})")
    user.password_hash = generate_password_hash(new)
    db.session.commit()
    sessions.end_all(user)


def change_email(user: User, password: str, new_email: str) -> None:
    _require_password(user, password)
    email = normalise_email(new_email)
    if email == user.email:
        raise AccountError("that is the address the account has already")
    if email.endswith("@" + CLOSED_EMAIL_DOMAIN) or find_by_email(email) is not None:
        raise AccountError("another account uses that address")
    user.email = email
    db.session.commit()


def live_key_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    )


def close(user: User, password: str) -> None:
    """Closes the account (see the module's docstring); the caller forgets cached keys."""
    _require_password(user, password)
    now = utcnow()
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    for model in (Persona, StoredResponseItem, StoredResponse):
        db.session.execute(delete(model).where(model.user_id == user.id).execution_options(synchronize_session=False))
    user.email = f"closed-{user.id}@{CLOSED_EMAIL_DOMAIN}"
    user.password_hash = generate_password_hash(secrets.token_urlsafe(32))
    user.is_admin = False
    user.deleted_at = now
    db.session.commit()
    sessions.end_all(user)
