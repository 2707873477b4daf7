"""The gateway: one client call's path from the checked request to the settled
answer — resolve → admit → send on a route → shape the answer → meter →
settle (:mod:`.pipeline`).

:mod:`.call` (the call's parts, one writer each), :mod:`.routing` (routes in
order, the failure table), :mod:`.formats` (the translation of each client and
upstream format pair), :mod:`.passthrough_openai` and
:mod:`.passthrough_anthropic` (same-format rewrites and the meter's reading of
each format), :mod:`.streams` (stream shapers yielding the client's events),
:mod:`.meter` and :mod:`.tokens` (what a call used).

May import ``billing`` (admission, arithmetic, settlement), ``accounts`` (the
key), ``catalog`` (the model) and the layers below: ``translate``,
``providers``, ``db``, ``money``, ``errors``. Never the views (``api``,
``web``) or ``agents``, which import it.
"""
