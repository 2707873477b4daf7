"""Personas: saved presets an account owns (a system prompt, a model, default
parameters, tools), and what using one does to a request.

* :mod:`.spec`: :class:`PersonaSpec` and the checks a create or update body passes.
* :mod:`.store`: management (``create``, ``update``, ``delete``, ``get``,
  ``listing``), always filtered by account: another account's persona is
  simply not found; and :func:`requested`.
* :mod:`.shaping`: :func:`apply`.

Using a persona (``"model": "persona:<slug>"`` or a ``"persona": "<slug>"``
field) is two steps, applied by the views right after validation and before
the model is resolved:

* :func:`requested` finds the persona the request names (one query, only when
  it names one);
* :func:`apply` (pure) rewrites the body: the persona's model (unless the
  request names a real model), its system prompt first (OpenAI: a system
  message before the others; Anthropic: joined before ``system``), its default
  parameters and function tools where the request has none of its own. The
  request's explicit fields always win. Everything after — billing, limits,
  usage — sees the underlying model.

May import the database models, the catalog snapshot, the wire checks,
:mod:`lumyx.translate`, :mod:`lumyx.agents.tools` and :mod:`lumyx.errors`.
"""

from lumyx.agents.personas.shaping import apply
from lumyx.agents.personas.spec import MAX_SYSTEM_PROMPT, MODEL_PREFIX, PersonaSpec
from lumyx.agents.personas.store import (
    LIST_MAX_LIMIT,
    create,
    delete,
    find,
    get,
    listing,
    requested,
    to_api,
    update,
)

__all__ = [
    "LIST_MAX_LIMIT",
    "MAX_SYSTEM_PROMPT",
    "MODEL_PREFIX",
    "PersonaSpec",
    "apply",
    "create",
    "delete",
    "find",
    "get",
    "listing",
    "requested",
    "to_api",
    "update",
]
