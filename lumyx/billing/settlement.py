"""Settlement: once the client has its answer (or has gone), the request's
actual cost is charged, the rest of its hold released and its usage row
written — in one transaction, exactly once.

* A request that held credits settles through :func:`lumyx.billing.holds.settle_and_record`
  (one statement on PostgreSQL); the ledger ref and the usage row are unique
  by request id, so a second settlement changes nothing.
* Any other request (free, refused, or failed before its hold) only writes
  its usage row, with what it would have cost as ``unpaid``; a free request
  that got no answer is taken off the day's count again.
* On PostgreSQL these commit without waiting for the disk flush: every request
  of an account updates that account's row, so a commit that waited would keep
  the others waiting for the disk, one after another. A database crash can
  then forget the last fraction of a second of them: a forgotten settlement
  leaves its hold, which the janitor releases uncharged; a forgotten hold
  charges its settlement from the unreserved balance. The balance never goes
  negative and no request is charged twice.
* A settlement that finds the database unreachable is kept in the journal
  (:mod:`lumyx.billing.journal`, flushed to the disk) and made once the
  database is back, by this worker or, should it stop, by another: the request
  is charged and recorded as what it was, once.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from lumyx.billing import free_cap, holds, journal
from lumyx.billing.admission import Admission
from lumyx.db import commit_without_waiting, db
from lumyx.errors import DATABASE_DOWN
from lumyx.observability import metrics
from lumyx.usage import recording

log = logging.getLogger("lumyx.billing")


def settle(admission: Admission, row: dict, cost: int, *, answered: bool) -> None:
    """Charges ``cost`` µcr for the request of usage row ``row`` (whose ``cost`` and
    ``unpaid`` this fills in), releases its hold and records it; exactly once.

    ``answered``: a route served the request (a free request without an answer
    does not count against the cap). When the database is unreachable the
    settlement is kept in the journal (:mod:`lumyx.billing.journal`) and made
    once it is back; the hold stays this worker's meanwhile.
    """
    holds.untrack(row["id"])
    entry = {
        "row": row,
        "cost": cost,
        "held": bool(admission.hold),
        "free_day": admission.free_day,
        "answered": answered,
    }
    try:
        _apply(entry)
    except IntegrityError:
        # Its usage row (or ledger entry) exists: settled already, by the janitor.
        log.warning("%s was settled already", row["id"])
    except DATABASE_DOWN as exc:
        metrics.storage_error("database")
        try:
            journal.keep(entry)
        except OSError:
            log.exception("could not keep the settlement of %s in the journal", row["id"])
            raise exc from None
        if entry["held"]:
            holds.track(row["id"])  # kept alive for the janitor until its settlement is made
        log.warning(
            "the database is unreachable (%s): the settlement of %s is kept in the journal until it is back",
            type(exc).__name__,
            row["id"],
        )


def _apply(entry: dict) -> None:
    row, cost = entry["row"], entry["cost"]
    if entry["held"]:
        holds.settle_and_record(row, cost, note=f"{row['model_id']} {row['id']}")
        return
    with db.engine.begin() as conn:
        commit_without_waiting(conn)
        if entry["free_day"] and not entry["answered"]:
            free_cap.uncount(conn, row["user_id"], entry["free_day"])
        recording.record(conn, {**row, "unpaid": cost})


def _replay(entry: dict) -> None:
    try:
        _apply(entry)
    except IntegrityError:
        pass  # settled already: by an earlier replay whose journal was not emptied yet
    holds.untrack(entry["row"]["id"])


def replay_journal() -> int | None:
    """Makes the settlements kept in the journal: how many, or None while the
    database is still unreachable."""
    return journal.replay(_replay)


def leave_to_janitor(request_id: str) -> None:
    """A request that will not be settled here: its hold (if any) is no longer this
    worker's to keep alive, so the janitor releases it."""
    holds.untrack(request_id)
