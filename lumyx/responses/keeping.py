"""What happens to a Responses answer on its way to the client: the Keeper.

For each Response object it passes (the non-stream body, or the ``response``
of a ``response.*`` event) and each item (the ``item`` of
``response.output_item.added``/``.done``, and the Response's ``output``):

1. a reasoning item carrying the private ``reasoning_details`` gets them
   sealed into ``encrypted_content`` (lumyx.responses.sealing); a finished one
   with neither gets an empty seal, so that every reasoning item a client gets
   can come back without being stored (Codex sends each back, ``store: false``);
2. ``previous_response_id`` and ``store`` are the client's own request's;
3. unless the client said ``store: false``, the response is stored with the
   client's input items (given ids where they had none) and its output items
   indexed by id (lumyx.responses.store): for a stream on its terminal event
   (``response.completed``, ``.incomplete``, ``.failed``) BEFORE that event is
   passed on, since the Agents SDK sends its next request, naming this response,
   the moment it reads it;
4. the client's copy loses ``encrypted_content`` unless its ``include`` has
   ``reasoning.encrypted_content`` (the stored copy keeps it).

A failure to store is logged and the client still gets its answer. A stream's
events are iterated by the server after the view returned, outside any app
context: the Keeper keeps the app and works in an app context of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import current_app

from lumyx.responses import store
from lumyx.responses.items import DETAILS, ENCRYPTED, INCLUDE_ENCRYPTED, for_client, input_list, with_ids
from lumyx.responses.sealing import seal

log = logging.getLogger("lumyx.responses")

TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


class Keeper:
    """Seals, stores and trims the answer to one ``POST /responses`` (module docstring).

    ``request`` is the client's own body, before :func:`lumyx.responses.conversation.expand`.
    """

    def __init__(self, user_id: int, request: dict):
        self.app = current_app._get_current_object()
        self.secret = self.app.config["SECRET_KEY"]
        self.user_id = user_id
        self.request = request
        self.store = request.get("store") is not False
        include = request.get("include")
        self.include_encrypted = isinstance(include, list) and INCLUDE_ENCRYPTED in include
        previous = request.get("previous_response_id")
        self.previous_response_id = previous if isinstance(previous, str) else None
        self.stored = False
        # Sealing only matters when someone will read the sealed content.
        self.seals = self.store or self.include_encrypted

    # -- the two ways out ---------------------------------------------------------------------------

    def body(self, response: dict) -> dict:
        """The non-stream answer: stored (unless ``store: false``), then the client's copy."""
        sealed = self._sealed_response(response)
        if self.store:
            self._save(sealed)
        return for_client(sealed, self.include_encrypted)

    def events(self, events: Iterator[dict]) -> Iterator[dict]:
        """The stream's events as the client gets them; the response is stored before
        its terminal event is passed on. Closing this closes ``events``."""
        try:
            for event in events:
                yield self._event(event)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    # -- one event, one response, one item ------------------------------------------------------

    def _event(self, event):
        if not isinstance(event, dict):
            return event
        item = event.get("item")
        response = event.get("response")
        if not isinstance(item, dict) and not isinstance(response, dict):
            return event
        event = dict(event)
        if isinstance(item, dict):
            sealed_item = self._sealed_item(item, finished=event.get("type") != "response.output_item.added")
            if not self.include_encrypted and ENCRYPTED in sealed_item and sealed_item.get("type") == "reasoning":
                sealed_item = {k: v for k, v in sealed_item.items() if k != ENCRYPTED}
            event["item"] = sealed_item
        if isinstance(response, dict):
            sealed = self._sealed_response(response)
            if self.store and event.get("type") in TERMINAL:
                self._save(sealed)
            event["response"] = for_client(sealed, self.include_encrypted)
        return event

    def _sealed_item(self, item: dict, *, finished: bool = True) -> dict:
        if item.get("type") != "reasoning":
            return item
        if DETAILS not in item and (item.get(ENCRYPTED) or not finished):
            return item  # an upstream's own encrypted_content, or an item still to come
        sealed = {k: v for k, v in item.items() if k != DETAILS}
        if self.seals:
            details = item.get(DETAILS)
            sealed[ENCRYPTED] = seal(details if isinstance(details, list) else [], secret=self.secret)
        return sealed

    def _sealed_response(self, response: dict) -> dict:
        sealed = dict(response)
        output = response.get("output")
        if isinstance(output, list):
            sealed["output"] = [self._sealed_item(item) if isinstance(item, dict) else item for item in output]
        sealed["previous_response_id"] = self.previous_response_id
        sealed["store"] = self.store
        return sealed

    # -- storing -----------------------------------------------------------------------------------

    def _save(self, response: dict) -> None:
        if self.stored:
            return
        self.stored = True
        if not isinstance(response.get("id"), str):
            log.error("a response without an id was not stored")
            return
        try:
            with self.app.app_context():
                input_items = with_ids(input_list(self.request.get("input")))
                store.save(self.user_id, response, input_items, self.previous_response_id)
        except Exception:
            log.exception("storing response %s failed; the client still gets it", response["id"])
