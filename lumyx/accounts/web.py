"""What the account pages do: sign-up and log-in checks, API keys listed and
revoked, the timezone setting, the ledger history. Plain arguments, no Flask
request."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from zoneinfo import available_timezones

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from lumyx.accounts import users as accounts
from lumyx.db import db
from lumyx.db.models import ApiKey, LedgerEntry, User
from lumyx.db.models._types import utcnow

# Checked when the email is unknown, so a log-in takes as long either way.
_DUMMY_HASH = generate_password_hash("lumyx-no-such-user")


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None (same work either way)."""
    user = accounts.find_by_email(email or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def register(email: str, password: str) -> User:
    """A new free account; raises accounts.AccountError with a readable reason."""
    return accounts.create_user(email, password)


# --------------------------------------------------------------------------- API keys


def list_keys(user_id: int, *, include_revoked: bool = True) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.user_id == user_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(
        db.session.scalars(query.order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc()))
    )


def revoke_key(user_id: int, key_id: int) -> bool:
    """Revokes one of the user's own keys; False when there is no such live key."""
    result = db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


# --------------------------------------------------------------------------- settings


@functools.lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """The IANA zone names, sorted (what the settings page offers)."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


def set_timezone(user: User, name: str) -> None:
    if name not in timezones():
        raise accounts.AccountError(f"unknown timezone {name!r}")
    user.timezone = name
    db.session.commit()


# --------------------------------------------------------------------------- ledger history


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit))


def ledger_page(user_id: int, page: int = 1, limit: int = 20) -> Page:
    """The user's ledger entries, newest first, one page of them."""
    total = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == user_id))
    pages = max(1, math.ceil((total or 0) / limit))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.user_id == user_id)
            .order_by(LedgerEntry.id.desc())
            .offset((page - 1) * limit)
            .limit(limit)
        )
    )
    return Page(items, page, limit, total or 0)
