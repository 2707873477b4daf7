"""The janitor of holds left by a worker that died.

Each worker marks its in-flight holds alive every minute and settles those
of any worker not seen for five minutes (``LUMYX_HOLD_REFRESH_SECONDS`` and
``LUMYX_HOLD_ORPHAN_SECONDS``; ``flask settle-holds`` settles them at once).
Nothing is charged for them, since what was delivered is unknown, and a ``worker_lost`` usage row records each. The same round deletes stored
responses past their retention (lumyx.responses.store.delete_expired) and
usage rows past theirs (lumyx.usage.retention.delete_old_usage), one worker at
a time.

A hold whose settlement waits in the settlement journal (lumyx.billing.journal)
is not orphaned: its request was answered and is charged when the journal is
replayed. So each round replays the journal first and leaves alone any hold
still journaled; a second thread replays it every few seconds while it has
entries.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lumyx.billing import holds, journal, settlement
from lumyx.db import db
from lumyx.db.models import Hold
from lumyx.db.models._types import utcnow
from lumyx.errors import DATABASE_DOWN
from lumyx.observability import metrics
from lumyx.responses import store as stored_responses
from lumyx.usage import retention as usage_retention

log = logging.getLogger("lumyx.billing")

ORPHAN_AFTER = timedelta(minutes=5)  # a hold not refreshed for this long has no worker
JANITOR_EVERY_SECONDS = 60


def refresh_in_flight() -> None:
    """Marks this worker's holds as alive. A hold whose row another transaction has
    locked is being settled (on PostgreSQL it is skipped, not waited for: the
    settlements of one key go in one transaction, which may lock many of them)."""
    ids = holds.tracked()
    for start in range(0, len(ids), 500):
        free = (
            select(Hold.id)
            .where(Hold.id.in_(ids[start : start + 500]))
            .with_for_update(skip_locked=True, key_share=True)
        )
        db.session.execute(update(Hold).where(Hold.id.in_(free)).values(seen_at=utcnow()))
    db.session.commit()


def settle_orphans(older_than: timedelta = ORPHAN_AFTER) -> int:
    """Settles holds whose worker is gone, charging nothing; returns how many.
    Journaled settlements are made first, and a hold still journaled is kept."""
    settlement.replay_journal()
    cutoff = utcnow() - older_than
    orphans = db.session.execute(
        select(Hold.id, Hold.user_id, Hold.api_key_id, Hold.model_id).where(Hold.seen_at < cutoff)
    ).all()
    db.session.rollback()
    journaled = journal.pending_ids() if orphans else set()
    settled_count = 0
    for hold_id, user_id, api_key_id, model_id in orphans:
        if hold_id in journaled:
            continue
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
    """Runs refresh_in_flight, settle_orphans, the deletion of expired stored
    responses and of usage rows past their retention every minute
    (LUMYX_HOLD_REFRESH_SECONDS) in this worker, and replays the settlement
    journal every few seconds while it has entries."""
    every = app.config.get("LUMYX_HOLD_REFRESH_SECONDS", JANITOR_EVERY_SECONDS)
    orphan_after = timedelta(seconds=app.config.get("LUMYX_HOLD_ORPHAN_SECONDS", ORPHAN_AFTER.total_seconds()))

    def loop() -> None:
        while True:
            time.sleep(every)
            with app.app_context():
                try:
                    refresh_in_flight()
                    settle_orphans(orphan_after)
                    stored_responses.delete_expired()
                    usage_retention.delete_old_usage()
                except DATABASE_DOWN as exc:
                    metrics.storage_error("database")
                    db.session.rollback()
                    log.error(
                        "hold janitor: the database is unreachable (%s); retrying in %ss", type(exc).__name__, every
                    )
                except Exception:
                    db.session.rollback()
                    log.exception("hold janitor failed; retrying in %ss", every)

    def replay_loop() -> None:
        while True:
            time.sleep(journal.RETRY_EVERY_SECONDS)
            with app.app_context():
                try:
                    if journal.has_work() and (made := settlement.replay_journal()):
                        log.warning("made %d settlements kept in the journal", made)
                except Exception:
                    log.exception("replaying the settlement journal failed; retrying")

    threading.Thread(target=loop, name="lumyx-hold-janitor", daemon=True).start()
    threading.Thread(target=replay_loop, name="lumyx-settlement-journal", daemon=True).start()
