"""Recording each metered request: one ``usage_records`` row plus an upsert into
``usage_hourly`` (per account, model and UTC hour), in the transaction of its
charge.

A request that held credits is recorded by its settlement's own statements
(:mod:`lumyx.billing.holds`, which writes the same row and hour from
:data:`ROW_COLUMNS` and :data:`ROLLED_UP`); any other request by :func:`record`.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from lumyx.db.models import UsageHourly, UsageRecord

_records, _hourly = UsageRecord.__table__, UsageHourly.__table__
_ADD_RECORD = _records.insert()
_rollup_statements: dict[str, object] = {}

# The columns of a usage row its request fills in (``cost`` and ``unpaid`` come from its settlement).
ROW_COLUMNS = (
    "id",
    "user_id",
    "api_key_id",
    "model_id",
    "provider_id",
    "operation",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "tokens_reported",
    "latency_ms",
    "status_code",
    "error_code",
    "stream",
    "partial",
    "thinking_used",
    "created_at",
    "upstream_model",
    "upstream_id",
    "finish_reason",
    "native_finish_reason",
    "first_token_ms",
)
# Each column's default, for rows that leave it out.
DEFAULTS = {
    column.name: column.default.arg
    for column in _records.columns
    if column.default is not None and column.default.is_scalar
}
# The hourly rollup's sums, besides its request count.
ROLLED_UP = ("prompt_tokens", "completion_tokens", "cost", "latency_ms")


def _rollup_statement(dialect: str):
    statement = _rollup_statements.get(dialect)
    if statement is None:
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(_hourly)
        statement = insert.on_conflict_do_update(
            index_elements=[_hourly.c.user_id, _hourly.c.hour, _hourly.c.model_id],
            set_={name: _hourly.c[name] + insert.excluded[name] for name in ("requests", *ROLLED_UP)},
        )
        _rollup_statements[dialect] = statement
    return statement


def record(conn, row: dict) -> None:
    """Writes one usage row and adds it to its hour, in the transaction of ``conn``."""
    conn.execute(_ADD_RECORD, row)
    conn.execute(
        _rollup_statement(conn.dialect.name),
        {
            "user_id": row["user_id"],
            "hour": row["created_at"].replace(minute=0, second=0, microsecond=0),
            "model_id": row["model_id"],
            "requests": 1,
            "prompt_tokens": row.get("input_tokens", 0),
            "completion_tokens": row.get("output_tokens", 0),
            "cost": row.get("cost", 0),
            "latency_ms": row.get("latency_ms", 0),
        },
    )
