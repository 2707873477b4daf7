"""The OpenAPI 3.1 description of the HTTP API (openapi.yaml beside this module),
as the JSON bytes both sides serve: the API under its prefixes
(``/v1/openapi.json``…), the site at its root (``/openapi.json``). Read once
per worker."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import orjson
import yaml

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
CACHE_CONTROL = "public, max-age=300"


@lru_cache(maxsize=1)
def spec_json() -> bytes:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return orjson.dumps(yaml.safe_load(fh))
