"""Alias forms: a source in one of the admin's domains, one or several destinations.

A warning (catch-all, source that is also a mailbox) is confirmed by sending the form again
with a `confirmed` value (a hidden input on the warning page) equal to the fingerprint of
exactly what was warned about: change the input and the warning comes back.
"""

import hashlib

from django import forms
from django.core.exceptions import ValidationError

from aliases import services
from users import addresses


def fingerprint(source, destinations):
    return hashlib.sha256("\n".join([source, *destinations]).encode()).hexdigest()[:32]


class _AliasForm(forms.Form):
    source = forms.CharField(
        label="Source",
        max_length=200,
        help_text="An address such as info@example.org, or @example.org for a catch-all.",
    )
    def __init__(self, *args, domains, **kwargs):
        super().__init__(*args, **kwargs)
        self.domains = domains
        self.warnings = []
        # Set by the view once the input is valid: what the change does to sending rights.
        self.sending_preview = None

    def clean_source(self):
        try:
            source = services.normalize_source(self.cleaned_data["source"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["source"])
        domain = services.source_domain(source)
        if not self.domains.filter(name=domain).exists():
            raise ValidationError(
                f"{addresses.domain_to_unicode(domain)} is not one of your domains; "
                "the source must be an address at a domain you administer."
            )
        return source

    def destination_list(self):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        source, destinations = cleaned["source"], self.destination_list()
        try:
            services.check_new_aliases(source, destinations, ignore_alias_id=self.ignore_alias_id)
        except ValidationError as error:
            self.add_service_error(error)
            return cleaned
        self.warnings = services.warnings_for(source, destinations)
        return cleaned

    def add_service_error(self, error):
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            target = self.field_for(field)
            for message in messages:
                self.add_error(target, message)

    def field_for(self, service_field):
        return service_field if service_field in self.fields else None

    @property
    def needs_confirmation(self):
        """Warnings or sending-right changes not yet confirmed for this very input."""
        changes_rights = self.sending_preview is not None and bool(self.sending_preview.changes)
        if not (self.warnings or changes_rights):
            return False
        return self.data.get("confirmed") != self.current_fingerprint

    @property
    def current_fingerprint(self):
        return fingerprint(self.cleaned_data["source"], self.destination_list())


class AliasCreateForm(_AliasForm):
    destinations = forms.CharField(
        label="Destinations",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One address per line (or separated by commas): local or external. "
        "Each destination becomes one row.",
    )
    ignore_alias_id = None

    field_order = ["source", "destinations"]

    def clean_destinations(self):
        try:
            return services.normalize_destinations(
                services.split_destinations(self.cleaned_data["destinations"])
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict["destinations"])

    def destination_list(self):
        return self.cleaned_data["destinations"]


class AliasEditForm(_AliasForm):
    destination = forms.CharField(label="Destination", max_length=200)

    field_order = ["source", "destination"]

    def __init__(self, *args, alias, **kwargs):
        super().__init__(*args, **kwargs)
        self.ignore_alias_id = alias.pk

    def clean_destination(self):
        try:
            return services.normalize_destinations([self.cleaned_data["destination"]])[0]
        except ValidationError as error:
            raise ValidationError(error.message_dict["destinations"])

    def destination_list(self):
        return [self.cleaned_data["destination"]]

    def field_for(self, service_field):
        if service_field == "destinations":
            return "destination"
        return super().field_for(service_field)
