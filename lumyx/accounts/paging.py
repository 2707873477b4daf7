"""One page of a long list, as the account and admin pages show it: the rows,
the page number, the page size and how many rows there are in all."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Select

from lumyx.db import db


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.limit))


def page_of(query: Select, count: Select, number: int, limit: int) -> Page:
    """Page ``number`` of the rows of ``query`` (``count`` counts them all); a number
    before the first page gives the first, one past the last gives the last."""
    total = db.session.scalar(count) or 0
    pages = max(1, math.ceil(total / limit))
    number = min(max(1, number), pages)
    items = list(db.session.scalars(query.offset((number - 1) * limit).limit(limit)))
    return Page(items, number, limit, total)


def page_number(raw: str | None) -> int:
    """The page a ``page`` URL parameter asks for; 1 when it is missing or not a number."""
    if raw is None:
        return 1
    try:
        return int(raw)
    except ValueError:
        return 1
