"""The admin's forms (Flask-WTF: each carries its CSRF token and validates its fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError

from loyalty.ledger import MAX_AMOUNT


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])


class AdjustForm(FlaskForm):
    points = IntegerField(
        "Points (negative to debit)",
        validators=[
            DataRequired(message="give a whole number of points, not zero"),
            NumberRange(min=-MAX_AMOUNT, max=MAX_AMOUNT),
        ],
    )
    reason = StringField("Reason", validators=[DataRequired(message="a reason is required"), Length(max=500)])
    #: Made when the form is shown: submitting it twice posts once.
    key = HiddenField(validators=[DataRequired(), Length(max=100)])

    def validate_points(self, field):
        if field.data == 0:
            raise ValidationError("give a number of points, not zero")


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: sign out."""


def not_saved(exc) -> str:
    """The flash of a refused form: the count of fields to correct when each has its message beside its input,
    the error itself otherwise."""
    fields = exc.details.get("fields") or {}
    if fields:
        count = sum(len(messages) for messages in fields.values())
        return f"Not saved: {count} {'problem' if count == 1 else 'problems'} to correct, shown by each field."
    return f"Not saved: {exc.message}"
