"""Per-worker state of the hot path: the catalog snapshot and the key cache."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from lumyx.accounts.keys import KeyCache
from lumyx.catalog.snapshot import CatalogCache


@dataclass
class Runtime:
    catalog: CatalogCache
    keys: KeyCache
    free_daily_limit: int


def init_app(app: Flask) -> None:
    app.extensions["lumyx"] = Runtime(
        catalog=CatalogCache(app.config["LUMYX_CATALOG_REFRESH_SECONDS"]),
        keys=KeyCache(app.config["LUMYX_AUTH_CACHE_SECONDS"]),
        free_daily_limit=app.config["LUMYX_FREE_DAILY_LIMIT"],
    )


def get() -> Runtime:
    return current_app.extensions["lumyx"]
