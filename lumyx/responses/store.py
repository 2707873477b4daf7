"""The stored responses of an account: saving one with the index of its output
items, reading a conversation's chain, retrieve, delete, input items, and
retention.

A response is kept ``LUMYX_RESPONSES_RETENTION_DAYS`` (default 30) from when it
was stored; past ``expires_at`` it answers 404 everywhere, and the janitor
(lumyx.billing.janitor) deletes it with :func:`delete_expired`. Every look-up
filters by account and expiry: another account's response is simply not found.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import orjson
from flask import current_app
from sqlalchemy import delete as sql_delete
from sqlalchemy import literal, select, text
from sqlalchemy.orm import aliased

from lumyx.db import db, sqlite_time
from lumyx.db.driver import sqlite_write
from lumyx.db.models import StoredResponse, StoredResponseItem
from lumyx.db.models._types import utcnow
from lumyx.db.postgres_writes import WITHOUT_WAITING, postgres_statement
from lumyx.errors import ApiError, bad_request
from lumyx.responses.items import INCLUDABLE, INCLUDE_ENCRYPTED, for_client, without_encrypted

log = logging.getLogger("lumyx.responses")

DEFAULT_RETENTION_DAYS = 30
MAX_ID = 100  # longest response or item id kept (the columns' length)
MAX_CHAIN = 100_000  # responses in one chain of previous_response_id (the body limit comes first)
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100
EXPIRED_BATCH = 500


def not_found(response_id: str) -> ApiError:
    return ApiError(404, "not_found", f"Response with id '{response_id[:MAX_ID]}' not found.", param="response_id")


def previous_not_found(response_id: str) -> ApiError:
    return ApiError(
        400,
        "previous_response_not_found",
        f"Previous response with id '{response_id[:MAX_ID]}' not found.",
        param="previous_response_id",
    )


def _usable_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID


# -- saving --------------------------------------------------------------------------------------


def save(user_id: int, response: dict, input_items: list, previous_response_id: str | None) -> None:
    """Stores ``response`` (its reasoning sealed) with the client's ``input_items`` and
    indexes its output items by id, atomically. An output item id the account had
    already (only an upstream could repeat one) is taken over by this response; a
    response id stored already raises IntegrityError.

    It comes before the client's answer, so it is the hot path's kind of write: one
    statement on PostgreSQL (one round trip, committed without waiting for the disk:
    lost only with the same request's usage row, in a crash of the database server),
    one grouped write on SQLite (lumyx.db.driver), no ORM session."""
    now = utcnow()
    days = current_app.config.get("LUMYX_RESPONSES_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS
    response_json = orjson.dumps(response).decode()
    input_json = orjson.dumps(input_items).decode()
    output = response.get("output") if isinstance(response.get("output"), list) else []
    items = {item["id"]: item for item in output if isinstance(item, dict) and _usable_id(item.get("id"))}
    row = {
        "id": response["id"],
        "user_id": user_id,
        "model_id": str(response.get("model") or "")[:200],
        "created_at": now,
        "expires_at": now + timedelta(days=days),
        "previous_response_id": previous_response_id if _usable_id(previous_response_id) else None,
        "status": str(response.get("status") or "completed")[:20],
        "input_items": input_json,
        "response": response_json,
        "size_bytes": len(response_json) + len(input_json),
    }
    item_ids = list(items)
    item_json = [orjson.dumps(item).decode() for item in items.values()]
    if db.engine.dialect.name == "postgresql":
        postgres_statement(_SAVE_PG, {**row, "item_ids": item_ids, "items": item_json})
        return
    row.update(created_at=sqlite_time(row["created_at"]), expires_at=sqlite_time(row["expires_at"]))
    indexed = [
        {"user_id": user_id, "item_id": item_id, "response_id": row["id"], "item": item}
        for item_id, item in zip(item_ids, item_json, strict=True)
    ]

    def insert(conn) -> None:
        conn.execute(_INSERT_RESPONSE_SQLITE, row)
        conn.executemany(_INSERT_ITEM_SQLITE, indexed)

    sqlite_write(insert)


_RESPONSE_COLUMNS = (
    "id, user_id, model_id, created_at, expires_at, previous_response_id, status, input_items, response, size_bytes"
)
_RESPONSE_VALUES = ", ".join(":" + column.strip() for column in _RESPONSE_COLUMNS.split(","))
_TAKE_OVER = "ON CONFLICT (user_id, item_id) DO UPDATE SET response_id = excluded.response_id, item = excluded.item"
_SAVE_PG = text(f"""
WITH {WITHOUT_WAITING},
saved AS (
    INSERT INTO stored_responses ({_RESPONSE_COLUMNS}) SELECT {_RESPONSE_VALUES} FROM quick RETURNING id, user_id)
INSERT INTO stored_response_items (user_id, item_id, response_id, item)
SELECT saved.user_id, indexed.item_id, saved.id, indexed.item
FROM saved, unnest(CAST(:item_ids AS text[]), CAST(:items AS text[])) AS indexed(item_id, item)
{_TAKE_OVER}""")
_INSERT_RESPONSE_SQLITE = f"INSERT INTO stored_responses ({_RESPONSE_COLUMNS}) VALUES ({_RESPONSE_VALUES})"
_INSERT_ITEM_SQLITE = (
    "INSERT INTO stored_response_items (user_id, item_id, response_id, item) "
    f"VALUES (:user_id, :item_id, :response_id, :item) {_TAKE_OVER}"
)


# -- reading a conversation -------------------------------------------------------------------------


def conversation(user_id: int, response_id: str, *, max_bytes: int) -> list:
    """The items of the chain ending with ``response_id``, oldest first: each
    response's input items, then its output items. 400 ``previous_response_not_found``
    when it (or a response before it) is not this account's or has expired; 413 when
    the chain alone is larger than ``max_bytes``."""
    if not _usable_id(response_id):
        raise previous_not_found(str(response_id))
    now = utcnow()
    first = (
        select(StoredResponse.id, StoredResponse.previous_response_id, literal(0).label("depth"))
        .where(StoredResponse.id == response_id, StoredResponse.user_id == user_id, StoredResponse.expires_at > now)
        .cte("chain", recursive=True)
    )
    parent = aliased(StoredResponse)
    chain = first.union_all(
        select(parent.id, parent.previous_response_id, first.c.depth + 1).where(
            parent.id == first.c.previous_response_id,
            parent.user_id == user_id,
            parent.expires_at > now,
            first.c.depth < MAX_CHAIN,
        )
    )
    try:
        links = db.session.execute(
            select(chain.c.id, chain.c.previous_response_id, StoredResponse.size_bytes)
            .join(StoredResponse, StoredResponse.id == chain.c.id)
            .order_by(chain.c.depth.desc())
        ).all()
        if not links:
            raise previous_not_found(response_id)
        if links[0].previous_response_id is not None:  # an earlier response of the chain is gone
            raise previous_not_found(links[0].previous_response_id)
        if sum(link.size_bytes for link in links) > max_bytes:
            raise too_large()
        texts = {
            row.id: (row.input_items, row.response)
            for row in db.session.execute(
                select(StoredResponse.id, StoredResponse.input_items, StoredResponse.response).where(
                    StoredResponse.id.in_([link.id for link in links])
                )
            )
        }
    finally:
        db.session.rollback()  # end the read transaction: the request goes on without the database
    items: list = []
    for link in links:
        input_json, response_json = texts[link.id]
        output = orjson.loads(response_json).get("output")
        items.extend(orjson.loads(input_json))
        items.extend(output if isinstance(output, list) else [])
    return items


def too_large() -> ApiError:
    return ApiError(
        413, "request_too_large", "The conversation of previous_response_id is larger than the request body limit."
    )


def items_by_id(user_id: int, item_ids: list[str]) -> dict[str, dict]:
    """The account's stored output items of these ids (unexpired), by id."""
    wanted = [item_id for item_id in dict.fromkeys(item_ids) if _usable_id(item_id)]
    if not wanted:
        return {}
    try:
        rows = db.session.execute(
            select(StoredResponseItem.item_id, StoredResponseItem.item)
            .join(StoredResponse, StoredResponse.id == StoredResponseItem.response_id)
            .where(
                StoredResponseItem.user_id == user_id,
                StoredResponseItem.item_id.in_(wanted),
                StoredResponse.expires_at > utcnow(),
            )
        ).all()
    finally:
        db.session.rollback()
    return {row.item_id: orjson.loads(row.item) for row in rows}


# -- the views' business ---------------------------------------------------------------------------


def find(user_id: int, response_id: str) -> StoredResponse | None:
    """The account's unexpired stored response of this id, or None."""
    if not _usable_id(response_id):
        return None
    return db.session.scalar(
        select(StoredResponse).where(
            StoredResponse.id == response_id, StoredResponse.user_id == user_id, StoredResponse.expires_at > utcnow()
        )
    )


def _get(user_id: int, response_id: str) -> StoredResponse:
    row = find(user_id, response_id)
    if row is None:
        raise not_found(response_id)
    return row


def included(args) -> bool:
    """Whether the query's ``include`` (``include[]=…``, repeatable) asks for
    ``reasoning.encrypted_content``; 400 naming ``include`` for an unknown value."""
    values = args.getlist("include[]") + args.getlist("include")
    for value in values:
        if value not in INCLUDABLE:
            raise bad_request(
                f"Invalid value for 'include': '{value[:100]}'. Supported values: {', '.join(sorted(INCLUDABLE))}.",
                "include",
            )
    return INCLUDE_ENCRYPTED in values


def retrieve(user_id: int, response_id: str, args) -> dict:
    """``GET /responses/{id}``: the stored Response object."""
    include_encrypted = included(args)
    row = _get(user_id, response_id)
    return for_client(orjson.loads(row.response), include_encrypted)


def delete(user_id: int, response_id: str) -> dict:
    """``DELETE /responses/{id}``: the response and its indexed items."""
    row = _get(user_id, response_id)
    db.session.execute(sql_delete(StoredResponseItem).where(StoredResponseItem.response_id == row.id))
    db.session.execute(sql_delete(StoredResponse).where(StoredResponse.id == row.id))
    db.session.commit()
    return {"id": row.id, "object": "response", "deleted": True}


def _limit(args) -> int:
    raw = args.get("limit")
    if raw is None or raw == "":
        return LIST_DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= LIST_MAX_LIMIT:
        raise bad_request(f"'limit' must be an integer between 1 and {LIST_MAX_LIMIT}.", "limit")
    return value


def input_items(user_id: int, response_id: str, args) -> dict:
    """``GET /responses/{id}/input_items``: one page of the client's input items of
    the response; ``order`` asc|desc (default desc), ``limit`` 1-100 (default 20),
    ``after`` (an item id: the items after it in that order)."""
    include_encrypted = included(args)
    order = args.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise bad_request("'order' must be 'asc' or 'desc'.", "order")
    limit = _limit(args)
    after = args.get("after") or None
    row = _get(user_id, response_id)
    items = orjson.loads(row.input_items)
    if order == "desc":
        items.reverse()
    if after is not None:
        position = next((i for i, item in enumerate(items) if item.get("id") == after), None)
        if position is None:
            raise bad_request(f"No input item with id '{after[:MAX_ID]}' in this response.", "after")
        items = items[position + 1 :]
    page = items[:limit]
    if not include_encrypted:
        page = without_encrypted(page)
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": len(items) > limit,
    }


# -- retention -------------------------------------------------------------------------------------


def delete_expired(batch: int = EXPIRED_BATCH, max_batches: int = 100) -> int:
    """Deletes expired responses and their items, ``batch`` a transaction (at most
    ``max_batches`` of them a call; the janitor calls again a minute later);
    returns how many responses went."""
    deleted = 0
    for _ in range(max_batches):
        ids = list(
            db.session.scalars(select(StoredResponse.id).where(StoredResponse.expires_at <= utcnow()).limit(batch))
        )
        if not ids:
            db.session.rollback()
            break
        db.session.execute(sql_delete(StoredResponseItem).where(StoredResponseItem.response_id.in_(ids)))
        db.session.execute(sql_delete(StoredResponse).where(StoredResponse.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
        if len(ids) < batch:
            break
    if deleted:
        log.info("deleted %d expired stored responses", deleted)
    return deleted
