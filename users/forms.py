"""Forms of the staff pages for domains, mailboxes and domain admins.

Validation lives in the models and services; a form collects input, lets them judge it, and
puts their messages next to the field they are about (`add_service_errors`).
"""

from django import forms
from django.core.exceptions import ValidationError

from users import addresses
from users.models import Domain

GENERATE, TYPE = "generate", "type"
# More domains than this are typed, not chosen: a list of 10,000 made the new-mailbox page
# 680 KB and 221 ms at a million mailboxes.
MAX_DOMAIN_CHOICES = 100
PASSWORD_MODES = [(GENERATE, "Generate a password (shown once)"), (TYPE, "Type a password")]


def add_service_errors(form, error, field_map=None):
    """Put a service's ValidationError on the form, each message at its field."""
    field_map = field_map or {}
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field_map.get(field, field)
            if target not in form.fields:
                target = None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(field_map.get(None), message)


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")


class DomainForm(forms.Form):
    name = forms.CharField(
        label="Domain name",
        max_length=255,
        help_text="Such as example.org; international names are stored as punycode.",
    )


class DomainDeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the domain name to confirm", max_length=255)

    def __init__(self, *args, domain, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain = domain

    def clean_confirm_name(self):
        typed = self.cleaned_data["confirm_name"].strip().rstrip(".").lower()
        if typed not in (self.domain.name, self.domain.display_name.lower()):
            raise ValidationError(f"Type {self.domain.display_name} exactly to delete this domain.")
        return typed


class NewPasswordForm(forms.Form):
    """Generate a password, or type one twice."""

    password_mode = forms.ChoiceField(
        label="Password", choices=PASSWORD_MODES, initial=GENERATE, widget=forms.RadioSelect
    )
    password1 = forms.CharField(
        label="New password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="New password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password_mode") != TYPE:
            if cleaned.get("password1") or cleaned.get("password2"):
                # Never throw away what was typed: ask which one is meant.
                self.add_error(
                    "password_mode",
                    "You typed a password, but “Generate a password” is chosen. Choose “Type a "
                    "password” to use yours, or empty the password fields to have one generated.",
                )
            return cleaned
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if not first:
            self.add_error("password1", "Type the new password, or choose to generate one.")
        elif first != second:
            self.add_error("password2", "The two passwords differ.")
        return cleaned

    @property
    def generates(self):
        return self.cleaned_data.get("password_mode") != TYPE


class TypedDomainField(forms.ModelChoiceField):
    """One of the person's domains, chosen from a list or, when they have many, typed by name."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Domain.objects.none(), to_field_name="name", empty_label=None, **kwargs)

    def offer(self, domains):
        self.queryset = domains
        if domains[: MAX_DOMAIN_CHOICES + 1].count() > MAX_DOMAIN_CHOICES:
            self.widget = forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"})
            self.help_text = "Type the domain's name, such as example.org."
            self.error_messages = {**self.error_messages, "invalid_choice": "You administer no domain of that name."}

    def to_python(self, value):
        if isinstance(self.widget, forms.TextInput) and value not in self.empty_values:
            try:
                value = addresses.normalize_domain(value)
            except addresses.AddressError as error:
                raise ValidationError(str(error))
        return super().to_python(value)


class MailboxCreateForm(NewPasswordForm):
    local_part = forms.CharField(
        label="Address", max_length=64, help_text="The part before @, such as jane."
    )
    domain = TypedDomainField(label="Domain")
    quota = forms.CharField(
        label="Quota",
        required=False,
        initial="0",
        help_text="Such as 500M or 2G (1024-based); 0 means unlimited.",
    )

    field_order = ["local_part", "domain", "quota", "password_mode", "password1", "password2"]

    def __init__(self, *args, domains, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].offer(domains)
        self.fields["domain"].label_from_instance = lambda domain: "@" + domain.display_name

    def clean_local_part(self):
        try:
            return addresses.normalize_local_part(self.cleaned_data["local_part"])
        except addresses.AddressError as error:
            raise ValidationError(str(error))

    def clean_quota(self):
        try:
            return addresses.parse_quota(self.cleaned_data["quota"])
        except addresses.AddressError as error:
            raise ValidationError(str(error))

    @property
    def email(self):
        return f"{self.cleaned_data['local_part']}@{self.cleaned_data['domain'].name}"


class QuotaForm(forms.Form):
    quota = forms.CharField(
        label="Quota", help_text="Such as 500M or 2G (1024-based); 0 means unlimited."
    )

    def clean_quota(self):
        try:
            return addresses.parse_quota(self.cleaned_data["quota"])
        except addresses.AddressError as error:
            raise ValidationError(str(error))
