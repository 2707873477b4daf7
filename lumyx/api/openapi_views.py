"""GET /openapi.json: the OpenAPI 3.1 description of the API (lumyx/api/openapi.yaml).

Needs no key. Served under each API prefix (``/v1/openapi.json``,
``/api/v1/openapi.json``…) and, as a page of the site, at its root (lumyx.web).
The file is read once per worker and kept as ready JSON bytes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import orjson
import yaml
from flask import Response

from lumyx.api.blueprints import api

SPEC_PATH = Path(__file__).with_name("openapi.yaml")


@lru_cache(maxsize=1)
def spec_json() -> bytes:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return orjson.dumps(yaml.safe_load(fh))


@api.get("/openapi.json")
def openapi_json() -> Response:
    return Response(spec_json(), mimetype="application/json", headers={"Cache-Control": "public, max-age=300"})
