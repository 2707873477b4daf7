"""Users: creation, lookup, and the admin account of LUMYX_ADMIN_EMAIL."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from lumyx.billing import ledger
from lumyx.db import db
from lumyx.db.models import User
from lumyx.db.models.user import PLANS

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """Bad input for an account operation; the message says what."""


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise AccountError(f"not a valid email address: {email!r}")
    return email


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def require_by_email(email: str) -> User:
    user = find_by_email(email)
    if user is None:
        raise AccountError(f"no user with email {email.strip()!r}")
    return user


def create_user(
    email: str, password: str, *, plan: str = "free", credits_micro: int = 0, is_admin: bool = False
) -> User:
    email = normalise_email(email)
    if plan not in PLANS:
        raise AccountError(f"unknown plan {plan!r} (one of {', '.join(PLANS)})")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if credits_micro < 0:
        raise AccountError("initial credits must not be negative")
    if find_by_email(email) is not None:
        raise AccountError(f"a user with email {email!r} already exists")
    user = User(email=email, password_hash=generate_password_hash(password), plan=plan, is_admin=is_admin, balance=0)
    db.session.add(user)
    db.session.flush()
    if credits_micro:
        ledger.post(user.id, credits_micro, "grant", note="initial credits", commit=False)
    db.session.commit()
    return user


def ensure_admin(email: str, password: str) -> User:
    """The admin account exists and is an admin; an existing password is kept."""
    user = find_by_email(email)
    if user is None:
        return create_user(email, password, is_admin=True)
    if not user.is_admin:
        user.is_admin = True
        db.session.commit()
    return user
