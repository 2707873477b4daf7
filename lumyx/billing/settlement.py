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
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from lumyx.billing import free_cap, holds
from lumyx.billing.admission import Admission
from lumyx.db import commit_without_waiting, db
from lumyx.usage import recording

log = logging.getLogger("lumyx.billing")


def settle(admission: Admission, row: dict, cost: int, *, answered: bool) -> None:
    """Charges ``cost`` µcr for the request of usage row ``row`` (whose ``cost`` and
    ``unpaid`` this fills in), releases its hold and records it; exactly once.

    ``answered``: a route served the request (a free request without an answer
    does not count against the cap).
    """
    holds.untrack(row["id"])
    try:
        if admission.hold:
            holds.settle_and_record(row, cost, note=f"{row['model_id']} {row['id']}")
            return
        with db.engine.begin() as conn:
            commit_without_waiting(conn)
            if admission.free_day and not answered:
                free_cap.uncount(conn, row["user_id"], admission.free_day)
            recording.record(conn, {**row, "unpaid": cost})
    except IntegrityError:
        # Its usage row (or ledger entry) exists: settled already, by the janitor.
        log.warning("%s was settled already", row["id"])


def leave_to_janitor(request_id: str) -> None:
    """A request that will not be settled here: its hold (if any) is no longer this
    worker's to keep alive, so the janitor releases it."""
    holds.untrack(request_id)
