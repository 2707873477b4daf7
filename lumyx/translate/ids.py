"""Response identifiers.

An Anthropic ``msg_<suffix>`` id becomes the OpenAI id ``chatcmpl-<suffix>`` and
vice versa, so the same upstream response always carries the same id on both
sides; a Responses ``resp_<suffix>`` id becomes ``chatcmpl-<suffix>`` the same way. A response without an id gets a fresh random one.

The output items of a Responses answer translated by Lumyx are named after the
response and their place in it (:func:`responses_item_id`): ``msg_``, ``rs_``,
``fc_`` or ``ctc_`` + the response id's suffix + ``_<output index>``, so the
streamed and the stored copies of an item carry the same id.
"""

from __future__ import annotations

import uuid

_MSG = "msg_"
_CHATCMPL = "chatcmpl-"
_RESP = "resp_"


def _suffix(source_id: object, prefix: str) -> str:
    if not isinstance(source_id, str) or not source_id:
        return uuid.uuid4().hex
    if source_id.startswith(prefix):
        return source_id[len(prefix) :] or uuid.uuid4().hex
    return source_id


def openai_id_from_anthropic(message_id: object) -> str:
    """``msg_01AbC`` -> ``chatcmpl-01AbC``."""
    return _CHATCMPL + _suffix(message_id, _MSG)


def openai_id_from_responses(response_id: object) -> str:
    """``resp_Ab12`` -> ``chatcmpl-Ab12``."""
    return _CHATCMPL + _suffix(response_id, _RESP)


def anthropic_id_from_openai(completion_id: object) -> str:
    """``chatcmpl-Ab12`` -> ``msg_Ab12``."""
    return _MSG + _suffix(completion_id, _CHATCMPL)


def tool_use_id(call_id: object) -> str:
    """An OpenAI tool call id usable as an Anthropic ``tool_use`` id.

    Anthropic accepts only ``[A-Za-z0-9_-]`` in tool use ids; any other
    character is replaced by ``_``. A missing id becomes ``toolu_<random>``.
    The same input always gives the same output, so a ``tool_use`` block and its
    ``tool_result`` stay paired.
    """
    if not isinstance(call_id, str) or not call_id:
        return "toolu_" + uuid.uuid4().hex[:24]
    if call_id.isascii() and call_id.replace("_", "").replace("-", "").isalnum():
        return call_id
    return "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "_" for c in call_id)


def responses_item_id(prefix: str, response_id: object, output_index: int) -> str:
    """``("msg", "resp_9fe1", 0)`` -> ``msg_9fe1_0``: the id of a translated Responses output item."""
    return f"{prefix}_{_suffix(response_id, _RESP)}_{output_index}"
