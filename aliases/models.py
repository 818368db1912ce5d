"""Aliases: the guide's `virtual_aliases` table, one row per (source, destination).

Postfix asks `SELECT destination FROM virtual_aliases WHERE source='%s'`; several rows with
one source are several destinations, and a source `@example.org` is the domain's catch-all.
"""

from django.core.exceptions import ValidationError
from django.db import models

from mailadmin import utf8mb3
from users import addresses
from users.models import Domain, InDomainQuerySet, Mailbox, domain_for_address


class Alias(models.Model):
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="aliases", db_column="domain_id"
    )
    source = models.CharField(max_length=addresses.ADDRESS_MAX_LENGTH)
    destination = models.CharField(max_length=addresses.ADDRESS_MAX_LENGTH)

    objects = InDomainQuerySet.as_manager()

    class Meta:
        db_table = "virtual_aliases"
        ordering = ["source", "destination"]
        verbose_name_plural = "aliases"
        constraints = [
            # A repeated row would make Postfix deliver to the same destination twice over.
            models.UniqueConstraint(
                fields=["source", "destination"],
                name="virtual_aliases_source_destination_uniq",
                violation_error_message="This alias already exists.",
            ),
        ]
        indexes = [
            # Postfix's virtual_alias_maps and sender-login queries: WHERE source='%s'
            # (the unique key above serves it, as its leading column, on MariaDB and SQLite).
            # The panel's "who forwards to this address" and the sender-login reverse view:
            # WHERE destination = ...
            models.Index(fields=["destination"], name="virtual_aliases_destination"),
        ]

    def __str__(self):
        return f"{addresses.address_to_unicode(self.source)} → {addresses.address_to_unicode(self.destination)}"

    @property
    def display_source(self):
        return addresses.address_to_unicode(self.source)

    @property
    def display_destination(self):
        return addresses.address_to_unicode(self.destination)

    @property
    def is_catch_all(self):
        return self.source.startswith("@")

    def clean_fields(self, exclude=None):
        # The domain may be left out: clean() then finds it from the address.
        if self.domain_id is None:
            exclude = {*(exclude or ()), "domain"}
        super().clean_fields(exclude=exclude)

    def clean(self):
        errors = {}
        try:
            self.source = addresses.normalize_alias_source(self.source)
        except addresses.AddressError as error:
            errors["source"] = str(error)
        try:
            self.destination = addresses.normalize_address(self.destination)
        except addresses.AddressError as error:
            errors["destination"] = str(error)
        if errors:
            raise ValidationError(errors)
        source_domain = addresses.domain_of(self.source) if "@" in self.source else self.source[1:]
        if self.domain_id is None:
            self.domain = domain_for_address(self.source, "source")
        elif source_domain != self.domain.name:
            raise ValidationError(
                {"source": f"The source must be an address at {self.domain.display_name}, this alias's domain."}
            )
        # source -> source is the guide's way for a mailbox to keep a copy of what it forwards;
        # for any other address it would be a loop.
        if self.source == self.destination and not Mailbox.objects.filter(email=self.source).exists():
            raise ValidationError({"destination": "An alias cannot forward to its own address."})


# The guide's table is utf8mb3: a 4-byte character in a lookup matches nothing, never a 500.
utf8mb3.guard(Alias, "source", "destination")
