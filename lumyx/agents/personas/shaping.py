"""What using a persona does to a request (pure: no database, no Flask).

The persona's model replaces the request's unless the request names a real
model; its system prompt goes first (OpenAI: a system message before the
others; Anthropic: joined before ``system``; Responses: joined before
``instructions``); its default parameters and function tools fill in what the
request leaves out (on Responses requests only those the Responses API has:
``temperature``, ``top_p``, ``max_tokens`` as ``max_output_tokens`` and the
reasoning effort). The request's explicit fields always win.
"""

from __future__ import annotations

from lumyx.agents.personas.spec import MODEL_PREFIX, PersonaSpec
from lumyx.translate import TranslationError
from lumyx.translate.reasoning import thinking_for_anthropic

_OPENAI_DEFAULTS = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "stop")


def _absent(body: dict, *keys: str) -> bool:
    return all(body.get(key) is None for key in keys)


def _apply_openai(out: dict, persona: PersonaSpec) -> None:
    if persona.system_prompt:
        out["messages"] = [{"role": "system", "content": persona.system_prompt}, *out["messages"]]
    defaults = persona.defaults
    for key in _OPENAI_DEFAULTS:
        if key in defaults and _absent(out, key):
            out[key] = defaults[key]
    if "max_tokens" in defaults and _absent(out, "max_tokens", "max_completion_tokens"):
        out["max_tokens"] = defaults["max_tokens"]
    if "reasoning" in defaults and _absent(out, "reasoning", "reasoning_effort"):
        out["reasoning"] = dict(defaults["reasoning"])
    if persona.tools and _absent(out, "tools"):
        out["tools"] = [dict(tool) for tool in persona.tools]


def _anthropic_thinking(out: dict, reasoning: dict) -> dict | None:
    """Anthropic ``thinking`` from the persona's reasoning default, when it fits the request as sent."""
    max_tokens = out.get("max_tokens")
    choice = out.get("tool_choice")
    if (
        not isinstance(max_tokens, int)
        or not _absent(out, "thinking", "temperature", "top_p", "top_k")
        or (isinstance(choice, dict) and choice.get("type") in ("any", "tool"))
    ):
        return None
    try:
        thinking, needed = thinking_for_anthropic({"reasoning": reasoning}, max_tokens)
    except TranslationError:
        return None
    return thinking if thinking is not None and needed == max_tokens else None


def _apply_anthropic(out: dict, persona: PersonaSpec) -> None:
    prompt = persona.system_prompt
    if prompt:
        system = out.get("system")
        if not system:
            out["system"] = prompt
        elif isinstance(system, str):
            out["system"] = f"{prompt}\n\n{system}"
        else:
            out["system"] = [{"type": "text", "text": prompt}, *system]
    defaults = persona.defaults
    thinking = _anthropic_thinking(out, defaults["reasoning"]) if "reasoning" in defaults else None
    if thinking is not None:
        out["thinking"] = thinking  # Anthropic takes no temperature or top_p with thinking
    elif _absent(out, "temperature", "top_p"):
        # As a pair only: recent Anthropic models refuse temperature and top_p together.
        for key in ("temperature", "top_p"):
            if key in defaults:
                out[key] = defaults[key]
    if "stop" in defaults and _absent(out, "stop_sequences"):
        stop = defaults["stop"]
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if persona.tools and _absent(out, "tools"):
        out["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}},
            }
            for t in persona.tools
        ]


def _apply_responses(out: dict, persona: PersonaSpec) -> None:
    prompt = persona.system_prompt
    if prompt:
        instructions = out.get("instructions")
        out["instructions"] = f"{prompt}\n\n{instructions}" if instructions else prompt
    defaults = persona.defaults
    for key in ("temperature", "top_p"):
        if key in defaults and _absent(out, key):
            out[key] = defaults[key]
    if "max_tokens" in defaults and _absent(out, "max_output_tokens"):
        out["max_output_tokens"] = defaults["max_tokens"]
    effort = (defaults.get("reasoning") or {}).get("effort")
    if effort and _absent(out, "reasoning"):
        out["reasoning"] = {"effort": effort}
    if persona.tools and _absent(out, "tools"):
        out["tools"] = [{"type": "function", **tool["function"]} for tool in persona.tools]


_APPLIERS = {"openai": _apply_openai, "anthropic": _apply_anthropic, "responses": _apply_responses}


def apply(body: dict, persona: PersonaSpec | None, wire: str) -> dict:
    """The request as the persona shapes it (a new dict; ``body`` is not changed).

    ``wire`` is ``"openai"``, ``"anthropic"`` or ``"responses"``. Without a persona, only the
    ``persona`` field is removed (it never goes upstream).
    """
    if persona is None and "persona" not in body:
        return body
    out = {key: value for key, value in body.items() if key != "persona"}
    if persona is None:
        return out
    model = out.get("model")
    if not isinstance(model, str) or not model or model.startswith(MODEL_PREFIX):
        out["model"] = persona.model
    _APPLIERS[wire](out, persona)
    return out
