"""A persona body's checks (lumyx.agents.personas.spec) and what using a persona does
to a request (lumyx.agents.personas.shaping), in process: each failure is a 400 that
names the field, with the message the API answers."""

from __future__ import annotations

import pytest

from lumyx.agents.personas import PersonaSpec, apply
from lumyx.agents.personas.spec import clean
from lumyx.errors import ApiError


class _Model:
    def __init__(self, model_id: str, *, embedding: bool = False, tools: bool = True):
        self.id = model_id
        self.is_embedding = embedding
        self._tools = tools

    def supports(self, capability: str) -> bool:
        return capability == "tools" and self._tools


class _Catalog:
    models = {"chat": _Model("chat"), "embed": _Model("embed", embedding=True), "plain": _Model("plain", tools=False)}

    def get(self, model_id: str):
        return self.models.get(model_id)


def _refusal(body) -> tuple[str, str | None]:
    with pytest.raises(ApiError) as caught:
        clean(body, _Catalog(), None)
    assert caught.value.status == 400
    return caught.value.message, caught.value.param


def test_a_create_body_is_cleaned():
    fields = clean({"name": "  Support bot ", "model": "chat", "defaults": {"max_tokens": 5.0}}, _Catalog(), None)
    assert fields == {"name": "Support bot", "slug": "support-bot", "model": "chat", "defaults": {"max_tokens": 5}}


@pytest.mark.parametrize(
    "body,message,param",
    [
        ({"model": "chat"}, "'name' is required.", "name"),
        ({"name": 7, "model": "chat"}, "'name' must be a string.", "name"),
        ({"name": "", "model": "chat"}, "'name' must not be empty.", "name"),
        ({"name": "   ", "model": "chat"}, "'name' must not be empty.", "name"),
        ({"name": "x" * 101, "model": "chat"}, "'name' is too long (at most 100 characters).", "name"),
        ({"name": "N", "model": "chat", "description": 1}, "'description' must be a string.", "description"),
        (
            {"name": "!!!", "model": "chat"},
            "'slug' is required when the name gives none ([a-z0-9-], at most 64).",
            "slug",
        ),
        (
            {"name": "N", "slug": "-x", "model": "chat"},
            "'slug' must be 1-64 characters of a-z, 0-9 and '-', not starting with '-'.",
            "slug",
        ),
        ({"name": "N"}, "'model' is required: a model id of the catalog.", "model"),
        (
            {"name": "N", "model": "embed"},
            "'model': 'embed' is an embedding model; a persona needs a chat model.",
            "model",
        ),
        (
            {"name": "N", "model": "chat", "bogus": 1},
            "'bogus' is not a persona field; use "
            "slug, name, description, system_prompt, model, defaults, tools, http_tools.",
            "bogus",
        ),
        (
            {"name": "N", "model": "chat", "defaults": {"top_k": 1}},
            "'defaults.top_k' is not a supported default; use temperature, top_p, max_tokens, stop, "
            "presence_penalty, frequency_penalty, seed, reasoning.",
            "defaults.top_k",
        ),
        (
            {"name": "N", "model": "chat", "defaults": {"reasoning": {"budget": 1}}},
            "'defaults.reasoning.budget' is not supported; use effort, max_tokens, enabled, exclude.",
            "defaults.reasoning.budget",
        ),
        (
            {"name": "N", "model": "chat", "defaults": {"temperature": 3}},
            "'defaults.temperature' must be between 0 and 2.",
            "defaults.temperature",
        ),
        ({"name": "N", "model": "chat", "tools": {}}, "'tools' must be an array of function tools.", "tools"),
        ({"name": "N", "model": "chat", "http_tools": {}}, "'http_tools' must be an array.", "http_tools"),
        (
            {"name": "N", "model": "chat", "http_tools": [{}] * 17},
            "'http_tools' has too many items (at most 16).",
            "http_tools",
        ),
        (
            {"name": "N", "model": "chat", "tools": [{"type": "function", "function": {"name": "a b"}}]},
            "'tools[0].function.name' must be 1-64 letters, digits, '_' or '-'.",
            "tools[0].function.name",
        ),
        (
            {"name": "N", "model": "chat", "tools": [{"function": {"name": "n", "description": 5}}]},
            "'tools[0].function.description' must be a string of at most 1024 characters.",
            "tools[0].function.description",
        ),
        (
            {"name": "N", "model": "chat", "http_tools": [{"name": "h", "url": "https://x.org", "description": 5}]},
            "'http_tools[0].description' must be a string.",
            "http_tools[0].description",
        ),
        (
            {"name": "N", "model": "chat", "http_tools": [{"name": "h", "url": "https://x.org", "verb": "GET"}]},
            "'http_tools[0].verb' is not supported; use name, description, parameters, url, method.",
            "http_tools[0].verb",
        ),
        (
            {"name": "N", "model": "chat", "http_tools": [{"name": "calculator", "url": "https://x.org"}]},
            "'http_tools[0].name': 'calculator' is the name of a built-in tool.",
            "http_tools[0].name",
        ),
        (
            {"name": "N", "model": "plain", "tools": [{"type": "function", "function": {"name": "n"}}]},
            "The model 'plain' does not support tools.",
            "tools",
        ),
    ],
)
def test_each_refusal_names_the_field(body, message, param):
    assert _refusal(body) == (message, param)


def test_a_persona_shapes_an_openai_request_without_overriding_it():
    persona = PersonaSpec(slug="bot", model="chat", system_prompt="Be brief.", defaults={"temperature": 0.2})
    body = {"model": "persona:bot", "persona": "bot", "messages": [{"role": "user", "content": "hi"}], "top_p": 1}
    shaped = apply(body, persona, "openai")
    assert shaped == {
        "model": "chat",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "top_p": 1,
        "temperature": 0.2,
    }
    assert "persona" in body and body["model"] == "persona:bot"


def test_a_persona_shapes_an_anthropic_request():
    persona = PersonaSpec(
        slug="bot",
        model="claude",
        system_prompt="Be brief.",
        defaults={"stop": "END"},
        tools=({"type": "function", "function": {"name": "lint"}},),
    )
    shaped = apply({"model": "persona:bot", "max_tokens": 10, "system": "Client."}, persona, "anthropic")
    assert shaped == {
        "model": "claude",
        "max_tokens": 10,
        "system": "Be brief.\n\nClient.",
        "stop_sequences": ["END"],
        "tools": [{"name": "lint", "description": "", "input_schema": {"type": "object", "properties": {}}}],
    }
