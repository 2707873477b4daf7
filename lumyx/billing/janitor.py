"""The janitor of holds left by a worker that died.

Each worker marks its in-flight holds alive every minute and settles those
of any worker not seen for five minutes (``flask settle-holds`` settles them
at once). Nothing is charged for them, since what was delivered is unknown,
and a ``worker_lost`` usage row records each. The same round deletes stored
responses past their retention (lumyx.responses.store.delete_expired).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lumyx.billing import holds
from lumyx.db import db
from lumyx.db.models import Hold
from lumyx.db.models._types import utcnow
from lumyx.errors import DATABASE_DOWN
from lumyx.responses import store as stored_responses

log = logging.getLogger("lumyx.billing")

ORPHAN_AFTER = timedelta(minutes=5)  # a hold not refreshed for this long has no worker
JANITOR_EVERY_SECONDS = 60


def refresh_in_flight() -> None:
    """Marks this worker's holds as alive."""
    ids = holds.tracked()
    for start in range(0, len(ids), 500):
        db.session.execute(update(Hold).where(Hold.id.in_(ids[start : start + 500])).values(seen_at=utcnow()))
    db.session.commit()


def settle_orphans(older_than: timedelta = ORPHAN_AFTER) -> int:
    """Settles holds whose worker is gone, charging nothing; returns how many."""
    cutoff = utcnow() - older_than
    orphans = db.session.execute(
        select(Hold.id, Hold.user_id, Hold.api_key_id, Hold.model_id).where(Hold.seen_at < cutoff)
    ).all()
    db.session.rollback()
    settled_count = 0
    for hold_id, user_id, api_key_id, model_id in orphans:
        try:
            holds.settle_and_record(
                {
                    "id": hold_id,
                    "user_id": user_id,
                    "api_key_id": api_key_id,
                    "model_id": model_id,
                    "operation": "unknown",
                    "tokens_reported": False,
                    "status_code": 500,
                    "error_code": "worker_lost",
                    "partial": True,
                    "created_at": utcnow(),
                },
                0,
                note="",
            )
            settled_count += 1
        except IntegrityError:
            pass  # settled meanwhile by its request or by another worker's janitor
    if settled_count:
        log.warning("released %d holds of stopped workers", settled_count)
    return settled_count


def start_janitor(app) -> None:
    """Runs refresh_in_flight, settle_orphans and the deletion of expired stored
    responses every minute in this worker."""

    def loop() -> None:
        while True:
            time.sleep(JANITOR_EVERY_SECONDS)
            with app.app_context():
                try:
                    refresh_in_flight()
                    settle_orphans()
                    stored_responses.delete_expired()
                except DATABASE_DOWN as exc:
                    db.session.rollback()
                    log.error(
                        "hold janitor: the database is unreachable (%s); retrying in a minute", type(exc).__name__
                    )
                except Exception:
                    db.session.rollback()
                    log.exception("hold janitor failed; retrying in a minute")

    threading.Thread(target=loop, name="lumyx-hold-janitor", daemon=True).start()
