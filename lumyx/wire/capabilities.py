"""What a model must be able to do for a request: each refusal is an ApiError 400
naming the parameter that needs the missing capability.

``model`` is the catalog's model (``id``, ``is_embedding``, ``supports()``);
``has_image`` comes from the request's validation.
"""

from __future__ import annotations

from lumyx.errors import bad_request

# Per endpoint: why an embedding model cannot serve it, the parameter that holds
# its prompt, and where its requests ask for JSON output (which needs JSON mode).
_ENDPOINTS = {
    "chat": ("use the embeddings endpoint", "messages", ("response_format",)),
    "completions": ("use the embeddings endpoint", "prompt", ()),
    "messages": ("it cannot answer messages", "messages", ()),
    "agents": ("it cannot chat", "messages", ("response_format",)),
    "responses": ("it cannot create responses", "input", ("text", "format")),
}


def require_generative(model, endpoint: str) -> None:
    """Refuses an embedding model on an endpoint that generates text."""
    if model.is_embedding:
        raise bad_request(f"The model '{model.id}' is an embedding model; {_ENDPOINTS[endpoint][0]}.", "model")


def require_capabilities(model, body: dict, endpoint: str, *, has_image: bool, server_tools: bool = False) -> None:
    """Refuses a request ``model`` cannot serve on ``endpoint``: an embedding model,
    tools (the request's own, or ``server_tools`` the gateway would offer), images,
    or a JSON ``response_format``."""
    require_generative(model, endpoint)
    _why, prompt_param, format_path = _ENDPOINTS[endpoint]
    tools_param = "tools" if body.get("tools") else "server_tools" if server_tools else None
    if tools_param and not model.supports("tools"):
        raise bad_request(f"The model '{model.id}' does not support tools.", tools_param)
    if has_image and not model.supports("vision"):
        raise bad_request(f"The model '{model.id}' does not accept images.", prompt_param)
    fmt = body
    for key in format_path:
        fmt = fmt.get(key) if isinstance(fmt, dict) else None
    kind = fmt.get("type") if format_path and isinstance(fmt, dict) else None
    if kind in ("json_object", "json_schema") and not model.supports("json_mode"):
        param = ".".join(format_path)
        raise bad_request(f"The model '{model.id}' does not support {param} {kind}.", param)
