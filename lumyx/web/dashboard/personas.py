"""Personas: list the account's personas, create, edit and delete them. Every
change goes through lumyx.agents.personas, which filters by account: another
account's persona is simply not found (404)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lumyx import runtime
from lumyx.agents import personas as persona_service
from lumyx.catalog import filters as catalog_filters
from lumyx.db import db
from lumyx.db.models import Persona
from lumyx.errors import ApiError
from lumyx.web.dashboard.blueprint import bp
from lumyx.web.forms import ActionForm
from lumyx.web.render import page, private, wants_partial

FIELD_OF_PARAM = {
    "name": "name",
    "slug": "slug",
    "description": "description",
    "model": "model",
    "system_prompt": "system_prompt",
    "defaults.temperature": "temperature",
    "defaults.max_tokens": "max_tokens",
}


class PersonaForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=100)],
        render_kw={"placeholder": "e.g. Support bot", "autocomplete": "off"},
    )
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=64)],
        render_kw={"placeholder": "made from the name", "autocomplete": "off", "pattern": "[a-z0-9][a-z0-9-]*"},
    )
    description = StringField(
        "Description", validators=[Optional(), Length(max=500)], render_kw={"autocomplete": "off"}
    )
    model = SelectField("Model", validators=[DataRequired()])
    system_prompt = TextAreaField(
        "System prompt", validators=[Optional(), Length(max=persona_service.MAX_SYSTEM_PROMPT)], render_kw={"rows": 6}
    )
    temperature = DecimalField(
        "Temperature",
        places=2,
        validators=[Optional(), NumberRange(min=0, max=2)],
        render_kw={"min": 0, "max": 2, "step": "0.05", "inputmode": "decimal"},
    )
    max_tokens = IntegerField(
        "Max tokens", validators=[Optional(), NumberRange(min=1)], render_kw={"min": 1, "inputmode": "numeric"}
    )
    submit = SubmitField("Save persona")


def _chat_models(current: str | None = None) -> list[tuple[str, str]]:
    """The chat models, those this instance serves first; the others say they need a provider key."""
    catalog = runtime.get().catalog.current()
    chat = [m for m in catalog.models.values() if not m.is_embedding]
    chat.sort(key=lambda m: not catalog_filters.is_available(m))  # stable: catalog order within each group
    choices = []
    for m in chat:
        label = f"{m.name} ({m.id})" if m.name and m.name != m.id else m.id
        choices.append((m.id, label if catalog_filters.is_available(m) else f"{label} — needs a provider key"))
    if current and all(value != current for value, _ in choices):
        choices.insert(0, (current, f"{current} (no longer in the catalog)"))
    return choices


def _working_model() -> str | None:
    """The model a new persona starts with: the first chat model this instance serves."""
    catalog = runtime.get().catalog.current()
    return next((m.id for m in catalog.models.values() if not m.is_embedding and catalog_filters.is_available(m)), None)


def _rows() -> list[dict]:
    """All the account's personas, by slug (as the API shows them)."""
    rows: list[dict] = []
    args: dict = {"limit": persona_service.LIST_MAX_LIMIT}
    while True:
        listing = persona_service.listing(current_user.id, args)
        rows.extend(listing["data"])
        if not listing["has_more"]:
            return rows
        args = {"limit": persona_service.LIST_MAX_LIMIT, "after": listing["last_id"]}


def _mine(slug: str) -> Persona:
    row = persona_service.find(current_user.id, slug)
    if row is None:
        abort(404)
    return row


def _body(form: PersonaForm, row: Persona | None) -> dict:
    """The API body the form stands for; on an edit, other defaults (set through the API) are kept."""
    defaults = dict(row.defaults or {}) if row is not None else {}
    for key, value in (("temperature", form.temperature.data), ("max_tokens", form.max_tokens.data)):
        if value is None:
            defaults.pop(key, None)
        else:
            defaults[key] = float(value) if key == "temperature" else int(value)
    body = {
        "name": form.name.data or "",
        "description": form.description.data or "",
        "system_prompt": form.system_prompt.data or "",
        "defaults": defaults,
    }
    slug = (form.slug.data or "").strip()
    if slug or row is not None:
        body["slug"] = slug or row.slug
    if row is None or form.model.data != row.model:
        body["model"] = form.model.data
    return body


def _show_error(form: PersonaForm, error: ApiError) -> None:
    name = FIELD_OF_PARAM.get(error.param or "")
    (getattr(form, name).errors if name else form.form_errors).append(error.message)


def _list_page(form: PersonaForm, status: int = 200):
    response = page(
        "dashboard/personas.html",
        "dashboard/partials/_personas.html",
        private=True,
        form=form,
        action=ActionForm(),
        personas=_rows(),
        editing=None,
    )
    return response, status


@bp.get("/personas")
@login_required
def personas():
    form = PersonaForm(formdata=None, model=_working_model())
    form.model.choices = _chat_models()
    return _list_page(form)


@bp.post("/personas")
@login_required
def create_persona():
    form = PersonaForm()
    form.model.choices = _chat_models()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    catalog = runtime.get().catalog.current()
    try:
        row = persona_service.create(current_user.id, _body(form, None), catalog)
    except ApiError as error:
        db.session.rollback()
        _show_error(form, error)
        return _list_page(form, 409 if error.status == 409 else 400)
    flash(f'The persona “{row.name}” is saved. Use it as "model": "persona:{row.slug}".', "success")
    return redirect(url_for(".personas"))


def _edit_page(form: PersonaForm, row: Persona, status: int = 200):
    return private("dashboard/personas.html", form=form, action=ActionForm(), personas=None, editing=row), status


@bp.get("/personas/<slug>")
@login_required
def edit_persona(slug: str):
    row = _mine(slug)
    defaults = row.defaults or {}
    form = PersonaForm(
        formdata=None,
        name=row.name,
        slug=row.slug,
        description=row.description,
        model=row.model,
        system_prompt=row.system_prompt,
        temperature=defaults.get("temperature"),
        max_tokens=defaults.get("max_tokens"),
    )
    form.model.choices = _chat_models(row.model)
    return _edit_page(form, row)


@bp.post("/personas/<slug>")
@login_required
def update_persona(slug: str):
    row = _mine(slug)
    form = PersonaForm()
    form.model.choices = _chat_models(row.model)
    if not form.validate_on_submit():
        return _edit_page(form, row, 400)
    catalog = runtime.get().catalog.current()
    try:
        row = persona_service.update(current_user.id, slug, _body(form, row), catalog)
    except ApiError as error:
        db.session.rollback()
        _show_error(form, error)
        return _edit_page(form, _mine(slug), 409 if error.status == 409 else 400)
    flash(f"The persona “{row.name}” is saved.", "success")
    return redirect(url_for(".personas"))


@bp.post("/personas/<slug>/delete")
@login_required
def delete_persona(slug: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    row = _mine(slug)
    name = row.name
    persona_service.delete(current_user.id, slug)
    if wants_partial():
        return private("dashboard/partials/_personas.html", action=ActionForm(), personas=_rows())
    flash(f"The persona “{name}” is deleted.", "success")
    return redirect(url_for(".personas"))
