"""The web forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, EmailField, HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from lumyx.accounts.users import MIN_PASSWORD_LENGTH
from lumyx.billing import payments
from lumyx.db.models.user import PLANS


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters (and at most 200).",
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Length(max=320)], render_kw={"autocomplete": "email", "autofocus": True}
    )
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )
    submit = SubmitField("Log in")


class RegisterForm(FlaskForm):
    email = EmailField(
        "Email",
        # email-validator's syntax check, with no look-up of the domain (lumyx.accounts.users checks it again).
        validators=[DataRequired(), Length(max=320), Email("Not a valid email address.", check_deliverability=False)],
        render_kw={"autocomplete": "email", "autofocus": True},
    )
    password = _new_password("Password")
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", "The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    # The browser's IANA zone (Intl.DateTimeFormat().resolvedOptions().timeZone, set by
    # static/app.js); an unknown or missing one leaves the default.
    timezone = HiddenField(validators=[Optional(), Length(max=64)])
    submit = SubmitField("Create account")


KEY_NAME_MAX = 100  # api_keys.name's length


def _key_name_length(form, field) -> None:
    """Refuses a longer name with its length (no maxlength on the input, which would
    cut a pasted name silently)."""
    if len(field.data or "") > KEY_NAME_MAX:
        raise ValidationError(f"A key name is at most {KEY_NAME_MAX} characters; this one has {len(field.data):,}.")


class NewKeyForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[Optional(), _key_name_length],
        render_kw={"placeholder": "e.g. laptop, CI, my-app", "autocomplete": "off"},
    )
    # Checked and turned into limits by lumyx.accounts.keys.KeyLimits.parse (blank: no limit).
    limit = StringField(
        "Spending limit (credits)",
        validators=[Optional(), Length(max=30)],
        render_kw={"placeholder": "no limit", "autocomplete": "off", "inputmode": "decimal"},
    )
    models = StringField(
        "Models",
        validators=[Optional(), Length(max=4000)],
        render_kw={"placeholder": "any model", "autocomplete": "off"},
    )
    expires_days = StringField(
        "Expires after (days)",
        validators=[Optional(), Length(max=10)],
        render_kw={"placeholder": "never", "autocomplete": "off", "inputmode": "numeric"},
    )
    submit = SubmitField("Create key")


def _current_password(label: str = "Current password") -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )


class ChangePasswordForm(FlaskForm):
    current = _current_password()
    new = _new_password("New password")
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new", "The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        "New email",
        validators=[DataRequired(), Length(max=320), Email("Not a valid email address.", check_deliverability=False)],
        render_kw={"autocomplete": "email"},
    )
    password = _current_password("Your password")
    submit = SubmitField("Change email")


class CloseAccountForm(FlaskForm):
    password = _current_password("Your password")
    submit = SubmitField("Delete my account")


class ActionForm(FlaskForm):
    """A button that changes something (revoke, buy a package): only the CSRF token."""


class CustomAmountForm(FlaskForm):
    amount = DecimalField(
        "Amount in USD",
        places=2,
        validators=[
            InputRequired(),
            NumberRange(
                min=payments.MIN_CUSTOM_CENTS / 100, max=payments.MAX_CUSTOM_CENTS / 100, message="From $2 to $1,000."
            ),
        ],
        render_kw={
            "min": payments.MIN_CUSTOM_CENTS // 100,
            "max": payments.MAX_CUSTOM_CENTS // 100,
            "step": "0.01",
            "inputmode": "decimal",
        },
    )
    submit = SubmitField("Buy credits")


class SettingsForm(FlaskForm):
    timezone = SelectField("Timezone", validators=[DataRequired()])
    submit = SubmitField("Save")


class PlanForm(FlaskForm):
    plan = SelectField("Plan", choices=[(p, p.title()) for p in PLANS])
    submit = SubmitField("Change plan")


class AdjustCreditsForm(FlaskForm):
    amount = StringField(
        "Credits (negative removes)",
        validators=[DataRequired(), Length(max=30)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    note = StringField("Note", validators=[DataRequired(), Length(max=400)], render_kw={"autocomplete": "off"})
    submit = SubmitField("Adjust")
