"""Web sessions that end. A session's cookie carries the account's id and its
session generation (``User.get_id``: ``"42:3"``); the session is valid only while
that generation is the account's current one. Raising it (:func:`end_all`) ends
every session of the account at once, in every browser and every copy of the
cookie, with no list of sessions kept on the server.

A cookie from before generations existed carries the id alone: it counts as
generation 0, so it ends with the first raise like any other."""

from __future__ import annotations

from sqlalchemy import update

from lumyx.db import db
from lumyx.db.models import User


def load(session_id: str) -> User | None:
    """The account a session's ``session_id`` (``"<id>:<generation>"``) belongs to,
    or None when it is malformed, the account is gone or closed, or the session has ended."""
    user_id, _, generation = (session_id or "").partition(":")
    try:
        user_id, generation = int(user_id), int(generation or 0)
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None or user.session_generation != generation:
        return None
    return user


def end_all(user: User) -> None:
    """Ends every web session of ``user`` (raises the generation in one statement, so
    two at once both count)."""
    db.session.execute(update(User).where(User.id == user.id).values(session_generation=User.session_generation + 1))
    db.session.commit()
    db.session.refresh(user)
