"""The alias form: an address and its whole list of destinations.

A new alias adds rows (services.create_aliases); an existing one is edited as a whole
(services.replace_destinations: the rows added and removed in one step).

Confirmation is asked only for a real hazard (`hazards`): a catch-all, a source that shadows a
mailbox, a mailbox of another domain gaining a sending right, someone losing one. It is given
by sending the form again with a `confirmed` value (a hidden input on the warning page) equal
to the fingerprint of exactly what was warned about: change the input and the warning comes back.
"""

import hashlib

from django import forms
from django.core.exceptions import ValidationError

from aliases import services
from users import addresses


def fingerprint(source, destinations):
    return hashlib.sha256("\n".join([source, *destinations]).encode()).hexdigest()[:32]


class AliasForm(forms.Form):
    source = forms.CharField(
        label="Address",
        max_length=200,
        help_text="Such as info@example.org; @example.org alone is a catch-all for the whole domain.",
    )
    destinations = forms.CharField(
        label="Destinations",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Where mail to the address goes: one address per line (or separated by commas), "
        "local or on another server.",
    )

    def __init__(self, *args, domains, editing=None, **kwargs):
        """`editing`: the stored source whose destinations this form replaces (None: a new alias)."""
        super().__init__(*args, **kwargs)
        self.domains = domains
        self.editing = editing
        if editing is not None:
            self.fields["source"].disabled = True
            self.fields["source"].initial = addresses.address_to_unicode(editing)
            self.fields["source"].help_text = ""
        self.warnings = []
        self.added, self.removed = [], []
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
                "the address must be at a domain you administer."
            )
        return source

    def clean_destinations(self):
        try:
            return services.normalize_destinations(services.split_destinations(self.cleaned_data["destinations"]))
        except ValidationError as error:
            raise ValidationError(error.message_dict["destinations"])

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        source, destinations = cleaned["source"], cleaned["destinations"]
        try:
            if self.editing is None:
                services.check_new_aliases(source, destinations)
                self.added, self.removed = list(destinations), []
            else:
                _, _, self.added, self.removed = services.check_replacement(source, destinations)
        except ValidationError as error:
            self.add_service_error(error)
            return cleaned
        if self.added:
            self.warnings = services.warnings_for(source, self.added)
        return cleaned

    def add_service_error(self, error):
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)

    @property
    def before_rows(self):
        return [(self.cleaned_data["source"], d) for d in self.removed]

    @property
    def after_rows(self):
        return [(self.cleaned_data["source"], d) for d in self.added]

    @property
    def hazards(self):
        """What the person must confirm: the warnings and the sending-right hazards, in words."""
        found = list(self.warnings)
        if self.sending_preview is not None:
            found += sending_hazards(self.cleaned_data["source"], self.sending_preview)
        return found

    @property
    def unchanged(self):
        return self.editing is not None and not (self.added or self.removed)

    @property
    def needs_confirmation(self):
        """Hazards not yet confirmed for this very input."""
        return bool(self.hazards) and self.data.get("confirmed") != self.current_fingerprint

    @property
    def current_fingerprint(self):
        return fingerprint(self.cleaned_data["source"], self.cleaned_data["destinations"])


def sending_hazards(source, preview):
    """A mailbox of another domain gaining a sending right; anyone losing one."""
    domain = services.source_domain(source)
    hazards = []
    for change in preview.gains:
        if addresses.domain_of(change.login) != domain:
            hazards.append(
                f"{addresses.address_to_unicode(change.login)} is a mailbox outside "
                f"{addresses.domain_to_unicode(domain)} and will be allowed to send as "
                f"{change.what}."
            )
    for change in preview.losses:
        hazards.append(
            f"{addresses.address_to_unicode(change.login)} will no longer be allowed to send as "
            f"{change.what}; mail they send from it will be refused."
        )
    return hazards
