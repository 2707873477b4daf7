"""The personas an account owns: create, update, delete, get and list them, and
find the one a request names. Every query filters by account: another
account's persona is simply not found."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lumyx.agents.personas.spec import MODEL_PREFIX, PersonaSpec, clean, is_slug, spec_of
from lumyx.catalog.snapshot import Catalog
from lumyx.db import db
from lumyx.db.models import Persona
from lumyx.db.models._types import utcnow
from lumyx.errors import ApiError, bad_request

MAX_PERSONAS = 500
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100


def _epoch(moment) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def to_api(row: Persona) -> dict:
    return {
        "id": row.slug,
        "object": "persona",
        "slug": row.slug,
        "name": row.name,
        "description": row.description or "",
        "system_prompt": row.system_prompt or "",
        "model": row.model,
        "defaults": row.defaults or {},
        "tools": row.tools or [],
        "http_tools": row.http_tools or [],
        "created_at": _epoch(row.created_at),
        "updated_at": _epoch(row.updated_at),
    }


def _not_found(slug: str) -> ApiError:
    return ApiError(404, "not_found", f"No persona '{slug[:64]}' on this account.")


def _slug_taken(slug: str) -> ApiError:
    return ApiError(409, "conflict", f"A persona with the slug '{slug}' exists already on this account.", param="slug")


def find(user_id: int, slug: str) -> Persona | None:
    if not is_slug(slug):
        return None
    return db.session.scalar(select(Persona).where(Persona.user_id == user_id, Persona.slug == slug))


def get(user_id: int, slug: str) -> Persona:
    row = find(user_id, slug)
    if row is None:
        raise _not_found(slug)
    return row


def _commit(slug: str) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _slug_taken(slug) from None


def create(user_id: int, data, catalog: Catalog) -> Persona:
    fields = clean(data, catalog, None)
    count = db.session.scalar(select(func.count()).select_from(Persona).where(Persona.user_id == user_id))
    if count >= MAX_PERSONAS:
        raise bad_request(f"An account can have at most {MAX_PERSONAS} personas; delete one first.")
    if find(user_id, fields["slug"]) is not None:
        raise _slug_taken(fields["slug"])
    now = utcnow()
    row = Persona(
        **{
            "description": "",
            "system_prompt": "",
            "defaults": {},
            "tools": [],
            "http_tools": [],
            **fields,
            "user_id": user_id,
            "created_at": now,
            "updated_at": now,
        }
    )
    db.session.add(row)
    _commit(fields["slug"])
    return row


def update(user_id: int, slug: str, data, catalog: Catalog) -> Persona:
    row = get(user_id, slug)
    fields = clean(data, catalog, row)
    new_slug = fields.get("slug", row.slug)
    if new_slug != row.slug and find(user_id, new_slug) is not None:
        raise _slug_taken(new_slug)
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    _commit(new_slug)
    return row


def delete(user_id: int, slug: str) -> None:
    row = get(user_id, slug)
    db.session.delete(row)
    db.session.commit()


def _positive(args, key: str, default: int | None, high: int) -> int | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"'{key}' must be an integer between 1 and {high}.", key) from None
    if not 1 <= value <= high:
        raise bad_request(f"'{key}' must be an integer between 1 and {high}.", key)
    return value


def listing(user_id: int, args) -> dict:
    """One page of the account's personas, by slug: ``limit`` (1-100, default 20) with
    ``page`` (1-based) or ``after`` (a slug: the page after it)."""
    limit = _positive(args, "limit", LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    page = _positive(args, "page", None, 1_000_000)
    after = args.get("after") or None
    if page is not None and after is not None:
        raise bad_request("Use either 'page' or 'after', not both.", "after")
    if after is not None and (len(after) > 64):
        raise bad_request("'after' must be the slug of a persona.", "after")
    query = select(Persona).where(Persona.user_id == user_id).order_by(Persona.slug).limit(limit + 1)
    if after is not None:
        query = query.where(Persona.slug > after)
    elif page is not None:
        query = query.offset((page - 1) * limit)
    rows = db.session.scalars(query).all()
    data = [to_api(row) for row in rows[:limit]]
    out = {
        "object": "list",
        "data": data,
        "has_more": len(rows) > limit,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    if after is None:
        out["page"] = page or 1
    return out


def requested(user_id: int, body: dict) -> PersonaSpec | None:
    """The persona a (validated) request names, or None; 404 when it names one the account lacks."""
    ref = body.get("persona")
    model = body.get("model")
    by_model = model[len(MODEL_PREFIX) :] if isinstance(model, str) and model.startswith(MODEL_PREFIX) else None
    if ref is None and by_model is None:
        return None
    if ref is not None and (not isinstance(ref, str) or not ref):
        raise bad_request("'persona' must be the slug of one of your personas.", "persona")
    if ref is not None and by_model is not None and ref != by_model:
        raise bad_request(f"'persona' ('{ref[:64]}') and 'model' ('{model[:200]}') name different personas.", "persona")
    slug = ref if ref is not None else by_model
    row = find(user_id, slug)
    if row is None:
        if ref is None:
            raise ApiError(
                404,
                "model_not_found",
                f"The model '{model[:200]}' does not exist: this account has no persona '{slug[:64]}'.",
                param="model",
            )
        raise ApiError(404, "not_found", f"This account has no persona '{ref[:64]}'.", param="persona")
    spec = spec_of(row)
    db.session.rollback()  # end the read transaction: the request goes on without the database
    return spec
