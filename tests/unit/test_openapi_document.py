"""The OpenAPI document as clients and the docs read it (GET /openapi.json).

YAML ends a plain value at a comma inside ``{…}``: an unquoted description with
a comma in it loses its tail, and the tail becomes a keyword with no value.
Every description must reach a reader whole."""

from __future__ import annotations

import orjson

from lumyx.wire.openapi import spec_json


def _valueless_keys(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            if value is None:
                yield "/".join(map(str, (*path, key)))
            yield from _valueless_keys(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _valueless_keys(value, (*path, index))


def test_no_description_is_cut_at_a_comma():
    spec = orjson.loads(spec_json())
    assert list(_valueless_keys(spec)) == []
    pricing = spec["components"]["schemas"]["Model"]["properties"]["pricing"]["properties"]
    assert pricing["prompt"]["description"] == "USD per input token, as a decimal string."
