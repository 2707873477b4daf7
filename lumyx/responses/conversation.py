"""What a Responses request means, made explicit before the gateway call: the
body the translators and the pass-through are given.

:func:`expand` returns a new body:

* ``input`` is a list of items (a string is one user message with an
  ``input_text`` part);
* with ``previous_response_id``, the stored chain's items come first, oldest
  first (each response's input items, then its output items), and the field is
  gone. ``instructions`` are not carried over (OpenAI's rule: each request
  gives its own);
* an ``item_reference``, and a reasoning item sent back by id alone (the Agents
  SDK does: ``{"type": "reasoning", "id": "rs_…", "summary": […]}``), is
  replaced by the stored item of that id: from the chain, else from the
  account's stored output items;
* a reasoning item sealed by Lumyx (``encrypted_content`` ``lmx1.…``) is opened:
  ``reasoning_details`` set, ``encrypted_content`` gone. An upstream's own
  ``encrypted_content`` is left as it is.

A request without ``previous_response_id`` and without an item to look up
costs no database query.
"""

from __future__ import annotations

import orjson

from lumyx.errors import ApiError
from lumyx.responses import store
from lumyx.responses.items import DETAILS, ENCRYPTED, input_list, is_reasoning
from lumyx.responses.sealing import is_sealed, open_sealed


def _lookup_id(item) -> str | None:
    """The id of the stored item that ``item`` stands for, or None."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    if item.get("type") == "item_reference":
        return item["id"]
    if is_reasoning(item) and not item.get(ENCRYPTED):
        return item["id"]
    return None


def _opened(item):
    """The item with Lumyx-sealed reasoning opened (a copy), or the item itself."""
    if not is_reasoning(item) or not is_sealed(item.get(ENCRYPTED)):
        return item
    details = open_sealed(item[ENCRYPTED], item_id=item.get("id"))
    opened = {k: v for k, v in item.items() if k != ENCRYPTED}
    opened[DETAILS] = details
    return opened


def item_not_found(item_id: str) -> ApiError:
    return ApiError(404, "not_found", f"Item with id '{item_id[: store.MAX_ID]}' not found.", param="input")


def expand(user_id: int, body: dict, *, max_bytes: int) -> dict:
    """The body with its conversation made explicit (module docstring). Raises
    400 ``previous_response_not_found``, 404 ``not_found`` for an item id the account
    has not stored, 400 ``invalid_encrypted_content``, 413 ``request_too_large``."""
    items = input_list(body.get("input"))
    previous = body.get("previous_response_id")
    expanded = {k: v for k, v in body.items() if k != "previous_response_id"}
    wanted = [item_id for item_id in map(_lookup_id, items) if item_id is not None]
    if previous is None and not wanted:
        expanded["input"] = [_opened(item) for item in items]
        return expanded
    history = store.conversation(user_id, previous, max_bytes=max_bytes) if previous is not None else []
    items = history + items
    known = {
        item["id"]: item
        for item in items
        if isinstance(item, dict) and isinstance(item.get("id"), str) and _lookup_id(item) is None
    }
    wanted = [item_id for item_id in map(_lookup_id, items) if item_id is not None and item_id not in known]
    if wanted:
        known.update(store.items_by_id(user_id, wanted))
    resolved = []
    for item in items:
        item_id = _lookup_id(item)
        if item_id is not None:
            if item_id not in known:
                raise item_not_found(item_id)
            item = known[item_id]
        resolved.append(_opened(item))
    expanded["input"] = resolved
    if len(orjson.dumps(expanded)) > max_bytes:
        raise store.too_large()
    return expanded
