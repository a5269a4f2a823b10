"""Sign-in and password forms with a length limit on every password field.

Django's own forms leave passwords unbounded; a megabyte "password" would still be hashed (or
checked against every validator) before anyone says no. Here a password longer than
``PASSWORD_MAX_LENGTH`` is a form error, and the browser stops typing at that length.
"""

from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    SetPasswordMixin,
    UserCreationForm,
    UsernameField,
)
from django.core.validators import MaxLengthValidator

from .models import User

PASSWORD_MAX_LENGTH = 128


def bounded(field: forms.CharField, limit: int = PASSWORD_MAX_LENGTH) -> forms.CharField:
    """The same field, refusing more than `limit` characters."""
    field.max_length = limit
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)
    return field


class LoginForm(AuthenticationForm):
    """Too long a password is refused before anything authenticates it."""

    username = UsernameField(max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = bounded(
        forms.CharField(
            label="Password",
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        )
    )


class BoundedPasswordChangeForm(PasswordChangeForm):
    old_password = bounded(
        forms.CharField(
            label="Old password",
            strip=False,
            widget=forms.PasswordInput(
                attrs={"autocomplete": "current-password", "autofocus": True}
            ),
        )
    )
    new_password1, new_password2 = (
        bounded(field)
        for field in SetPasswordMixin.create_password_fields(
            label1="New password", label2="New password confirmation"
        )
    )


class NewUserForm(UserCreationForm):
    """A username and a bounded password, checked by Django's password validators."""

    password1, password2 = (bounded(field) for field in SetPasswordMixin.create_password_fields())

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)
