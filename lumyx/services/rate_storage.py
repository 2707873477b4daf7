"""Rate-limit counters in the application's own database, for when no Redis is
configured: every gunicorn worker shares them, so N workers enforce one limit.

A storage backend for the ``limits`` library (used by Flask-Limiter) with the
fixed-window strategy: one row per counter, incremented by one atomic upsert
that also starts a new window once the old one has expired. Rows are reused
window after window, so the table holds one row per key and limit.
"""
from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import bindparam, case, create_engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..models import RateCounter

_table = RateCounter.__table__


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["lumyx-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, database_url: str = "",
                 engine_options: dict | None = None, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        options = dict(engine_options or {})
        if database_url.startswith("postgresql"):
            # A counter lost in a database crash is harmless: no disk flush per hit.
            options["connect_args"] = {**options.get("connect_args", {}), "options": "-c synchronous_commit=off"}
        self.engine = create_engine(database_url, **options)
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(_table)
        expired = _table.c.expires_at <= bindparam("now")
        self._incr = insert.values(key=bindparam("key"), count=bindparam("amount"),
                                   expires_at=bindparam("expires_at")).on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={"count": case((expired, insert.excluded.count), else_=_table.c.count + insert.excluded.count),
                  "expires_at": case((expired, insert.excluded.expires_at), else_=_table.c.expires_at)},
        ).returning(_table.c.count)
        self._get = select(_table.c.count, _table.c.expires_at).where(_table.c.key == bindparam("key"))

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self.engine.begin() as conn:
            return conn.execute(self._incr, {"key": key, "amount": amount, "now": now,
                                             "expires_at": now + expiry}).scalar_one()

    def _row(self, key: str) -> tuple[int, float]:
        with self.engine.connect() as conn:
            row = conn.execute(self._get, {"key": key}).first()
        if row is None or row[1] <= time.time():
            return 0, time.time()
        return row[0], row[1]

    def get(self, key: str) -> int:
        return self._row(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._row(key)[1]

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(_table.delete()).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(_table.delete().where(_table.c.key == key))
