"""What the upstream stand-in was asked for one request: its records are searched
for a marker the test put in the prompt."""

from __future__ import annotations

import orjson

# The stand-in's path of each upstream format, as the test catalog's providers call it.
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}


def asked(upstream, marker: str) -> list[tuple[str, str]]:
    """(upstream format, upstream model) of each request whose body holds ``marker``,
    in the order the stand-in received them."""
    wires = {path: wire for wire, path in PATHS.items()}
    return [
        (wires[record["path"]], record["body"].get("model"))
        for record in upstream.requests()
        if record["path"] in wires
        and isinstance(record.get("body"), dict)
        and marker in orjson.dumps(record["body"]).decode()
    ]


def bodies(upstream, marker: str) -> list[dict]:
    """The bodies of the upstream requests holding ``marker``."""
    return [
        record["body"]
        for record in upstream.requests()
        if isinstance(record.get("body"), dict) and marker in orjson.dumps(record["body"]).decode()
    ]
