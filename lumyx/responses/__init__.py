"""Stored responses of the Responses API (``POST /responses`` as a client format),
and the state a conversation carries from one request to the next.

* :mod:`.conversation`: :func:`expand`, before the gateway call: the request's
  ``input`` as a list, the stored conversation of ``previous_response_id``
  before it, items sent back by id replaced by the stored ones, Lumyx-sealed
  reasoning opened (``reasoning_details``).
* :mod:`.keeping`: :class:`Keeper`, after it: reasoning sealed into
  ``encrypted_content``, the response stored (before the client sees its
  terminal event), ``encrypted_content`` kept from the client unless it asked.
* :mod:`.sealing`: :func:`seal` and :func:`open_sealed`.
* :mod:`.store`: the tables (``stored_responses``, ``stored_response_items``):
  saving, retrieve, delete, input items, the chain of a response, retention.
* :mod:`.items`: the item shapes all of them share.

Every look-up is by account: another account's response or item is simply not
found, and so is an expired one.

May import the database models, :mod:`lumyx.config` and :mod:`lumyx.errors`;
nothing of the other features.
"""
