"""Users: creation (sign-up and the command line), lookup, the log-in check,
the timezone setting, and the admin account of LUMYX_ADMIN_EMAIL."""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from lumyx.billing import ledger
from lumyx.db import db
from lumyx.db.models import User
from lumyx.db.models.user import PLANS

MIN_PASSWORD_LENGTH = 8

# Checked when the email is unknown, so a log-in takes as long either way. Written out
# rather than made at import (a hash costs about 80 ms of CPU, which every worker and every
# command would pay at start); its method and cost are werkzeug's default, as a test checks.
_DUMMY_HASH = (
    "scrypt:32768:8:1$IfOZIyKErUhA61KH$bd4a51bcf92074a339dc2024085fd8e06157a0e6f71486e7cab3150137f8ca2e"
    "99f804666c382b17ae33958f00d0cd0df9fc97f23a0e099d5939ed44c73d304a"
)


class AccountError(ValueError):
    """Bad input for an account operation; the message says what."""


def normalise_email(email: str) -> str:
    """The address, lower-cased, when it is one (email-validator's syntax check; no
    look-up of the domain): nothing like markup or a display name gets in."""
    email = (email or "").strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise AccountError(f"not a valid email address: {email!r} ({reason[:1].lower() + reason[1:]})") from None
    return email


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def require_by_email(email: str) -> User:
    user = find_by_email(email)
    if user is None:
        raise AccountError(f"no user with email {email.strip()!r}")
    return user


def create_user(
    email: str,
    password: str,
    *,
    plan: str = "free",
    credits_micro: int = 0,
    is_admin: bool = False,
    timezone: str | None = None,
) -> User:
    """A new account. ``timezone`` is the browser's at sign-up: an IANA name this
    system knows, or else the default."""
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
    if timezone in timezones():
        user.timezone = timezone
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


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None (same work either way)."""
    user = find_by_email(email or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user if user.deleted_at is None else None


@functools.lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """The IANA zone names, sorted (what the settings page offers)."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


def set_timezone(user: User, name: str) -> None:
    if name not in timezones():
        raise AccountError(f"unknown timezone {name!r}")
    user.timezone = name
    db.session.commit()
