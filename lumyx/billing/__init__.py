"""Billing: what a request costs and who pays it, in integer micro-credits.

:mod:`.arithmetic` (the hold and the cost, pure functions), :mod:`.admission`
(hold or count before the upstream call), :mod:`.holds` (the hold and the
settlement statements on both databases), :mod:`.settlement` (after the
answer, exactly once), :mod:`.beside` (on PostgreSQL, settled beside the client's
connection), :mod:`.janitor` (holds of workers that died),
:mod:`.free_cap` (the daily cap on free models), :mod:`.ledger` (every other
balance change) and :mod:`.payments` (Stripe Checkout).

May import ``db``, ``money``, ``errors``, ``config`` and ``usage.recording``
(a settlement writes the usage row); never the gateway, the views or another
feature.
"""
