"""Forms of the mailbox user's own pages and of the password reset pages."""

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError

from users import services

WRONG_CURRENT = "Your current password is not correct."


class NewPasswordFields(forms.Form):
    """New password twice, checked by Django's validators against the mailbox's address."""

    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; not a common password, not only digits, not like your address.",
    )
    new_password2 = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, mailbox, *args, **kwargs):
        self.mailbox = mailbox
        super().__init__(*args, **kwargs)

    def clean_new_password2(self):
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data["new_password2"]
        if first and first != second:
            raise ValidationError("The two new passwords differ.")
        return second

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("new_password1")
        if password and not self.has_error("new_password2"):
            try:
                services.check_new_password(password, self.mailbox)
            except ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned


def check_current_password(request, mailbox, password):
    # Through authenticate(), so django-axes counts wrong guesses here as on the login page
    # and the failure is logged for fail2ban.
    user = authenticate(request, username=mailbox.email, password=password)
    if user is None or user.get_username() != mailbox.email:
        raise ValidationError(WRONG_CURRENT)


class ChangePasswordForm(NewPasswordFields):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "new_password1", "new_password2"]

    def __init__(self, request, mailbox, *args, **kwargs):
        self.request = request
        super().__init__(mailbox, *args, **kwargs)

    def clean_current_password(self):
        password = self.cleaned_data["current_password"]
        check_current_password(self.request, self.mailbox, password)
        return password


class RecoveryAddressForm(forms.Form):
    # Shares a page with the password form: its own field names and ids.
    prefix = "recovery"

    address = forms.EmailField(
        label="Recovery address",
        required=False,
        help_text="Another mail address of yours, for reset links when you forget your password. "
        "Leave it empty to remove it.",
    )
    # Setting where reset links go is as good as knowing the password: ask for it.
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request, mailbox, *args, **kwargs):
        self.request = request
        self.mailbox = mailbox
        super().__init__(*args, **kwargs)

    def clean_address(self):
        address = self.cleaned_data["address"].strip().lower()
        if address and address == self.mailbox.email:
            raise ValidationError("Choose another address than this mailbox: you cannot read it without its password.")
        return address

    def clean_current_password(self):
        password = self.cleaned_data["current_password"]
        check_current_password(self.request, self.mailbox, password)
        return password


class ForgotPasswordForm(forms.Form):
    address = forms.CharField(
        label="Your mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class ResetPasswordForm(NewPasswordFields):
    pass
