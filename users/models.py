"""Domains and mailboxes: the guide's `virtual_domains` and `virtual_users` tables.

Postfix and Dovecot run their own SQL against these tables (see ISPMAIL.md), so table names,
column names and types are the guide's, not Django's defaults.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Now

from mailadmin import utf8mb3
from users import addresses


class DomainQuerySet(models.QuerySet):
    def visible_to(self, user):
        if user.is_superuser:
            return self
        if not user.is_staff:
            return self.none()
        return self.filter(admin_grants__user=user)

    def with_counts(self):
        """mailbox_count and alias_count per domain, each a correlated COUNT(*): cheap for the
        rows a page shows, where a join of mailboxes x aliases grows with both per domain."""
        return self.annotate(
            mailbox_count=_rows_per_domain(self.model._meta.get_field("mailboxes").related_model),
            alias_count=_rows_per_domain(self.model._meta.get_field("aliases").related_model),
        )


def _rows_per_domain(model):
    counted = model.objects.filter(domain=OuterRef("pk")).order_by().values("domain").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def _normalized(normalize, value, field):
    try:
        return normalize(value)
    except addresses.AddressError as error:
        raise ValidationError({field: str(error)})


def domain_for_address(address, field):
    """The Domain row an address belongs to, or a form error naming the missing domain."""
    name = addresses.domain_of(address)
    domain = Domain.objects.filter(name=name).first()
    if domain is None:
        raise ValidationError(
            {field: f"There is no domain {addresses.domain_to_unicode(name)} in the panel; add the domain first."}
        )
    return domain


class Domain(models.Model):
    name = models.CharField(
        max_length=addresses.DOMAIN_MAX_LENGTH,
        error_messages={"unique": "This domain already exists."},
    )

    # The domain's kept counts (users.tallies), for joins: no column, no database constraint.
    kept_count = models.ForeignObject(
        "DomainCount", on_delete=models.DO_NOTHING, from_fields=["id"], to_fields=["domain_id"], related_name="+",
        editable=False,
    )

    objects = DomainQuerySet.as_manager()

    class Meta:
        db_table = "virtual_domains"
        ordering = ["name"]
        constraints = [
            # The guide has no unique key here: two rows with one name would make Postfix's
            # "SELECT 1 ... WHERE name='%s'" answer twice and the panel ambiguous.
            models.UniqueConstraint(fields=["name"], name="virtual_domains_name_uniq"),
        ]

    def __str__(self):
        return addresses.domain_to_unicode(self.name)

    @property
    def display_name(self):
        return addresses.domain_to_unicode(self.name)

    def clean(self):
        self.name = _normalized(addresses.normalize_domain, self.name, "name")

    def clean_fields(self, exclude=None):
        # kept_count is a join, no value of the row: reading it would look up the kept counts.
        super().clean_fields(exclude={*(exclude or ()), "kept_count"})


class InDomainQuerySet(models.QuerySet):
    """Rows that belong to a domain (mailboxes, aliases): seen through the domain's admins."""

    def visible_to(self, user):
        if user.is_superuser:
            return self
        if not user.is_staff:
            return self.none()
        return self.filter(domain__admin_grants__user=user)


class Mailbox(models.Model):
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="mailboxes", db_column="domain_id"
    )
    email = models.CharField(
        max_length=addresses.ADDRESS_MAX_LENGTH,
        unique=True,
        error_messages={"unique": "A mailbox with this address already exists."},
    )
    # Always "{SCHEME}hash" as Dovecot reads it; never a plaintext password written by the panel.
    password = models.CharField(max_length=150)
    # Bytes, 0 = unlimited (Dovecot's quota_rule = *:bytes=<quota>).
    quota = models.BigIntegerField(default=0)

    objects = InDomainQuerySet.as_manager()

    class Meta:
        db_table = "virtual_users"
        ordering = ["email"]
        verbose_name_plural = "mailboxes"
        indexes = [
            # The mailbox list by quota, a page at a time: WHERE (quota, email) > (…) ORDER BY
            # quota, email LIMIT 51 (mailadmin.keyset), a range scan wherever the page is.
            models.Index(fields=["quota", "email"], name="virtual_users_quota_email"),
            # One domain's mailboxes in address order (the list's ?domain=, a domain's page, the
            # list by domain): WHERE domain_id = … AND email > … ORDER BY email LIMIT 51.
            models.Index(fields=["domain", "email"], name="virtual_users_domain_email"),
        ]

    def __str__(self):
        return addresses.address_to_unicode(self.email)

    @property
    def display_email(self):
        return addresses.address_to_unicode(self.email)

    def clean_fields(self, exclude=None):
        # The domain may be left out: clean() then finds it from the address.
        if self.domain_id is None:
            exclude = {*(exclude or ()), "domain"}
        super().clean_fields(exclude=exclude)

    def clean(self):
        from users.schema import quota_column_max

        self.email = _normalized(addresses.normalize_address, self.email, "email")
        if self.domain_id is None:
            self.domain = domain_for_address(self.email, "email")
        elif addresses.domain_of(self.email) != self.domain.name:
            raise ValidationError(
                {"email": f"The address must end in @{self.domain.display_name}, this mailbox's domain."}
            )
        if self.quota is None or self.quota < 0:
            raise ValidationError({"quota": "A quota is 0 (unlimited) or a positive size."})
        limit = quota_column_max()
        if self.quota > limit:
            raise ValidationError(
                {
                    "quota": f"{addresses.format_quota(self.quota)} is more than this database's quota "
                    f"column holds (at most {addresses.format_quota_human(limit)}, {limit} bytes)."
                }
            )

    @property
    def local_part(self):
        return self.email.rsplit("@", 1)[0]

    @property
    def domain_name(self):
        # From the address, not the domain row: lists then need no join (a join made MariaDB
        # sort all 100,000 rows for one page).
        return addresses.domain_of(self.email)

    @property
    def display_domain(self):
        return addresses.domain_to_unicode(self.domain_name)

    @property
    def display_quota(self):
        return addresses.format_quota_human(self.quota)

    @property
    def maildir(self):
        """Where the guide's Dovecot keeps this mailbox's mail: /var/vmail/%d/%n."""
        return f"{settings.MAILADMIN_VMAIL_ROOT}/{self.domain_name}/{self.local_part}"

    def set_password(self, raw_password):
        from users import passwords

        self.password = passwords.hash_password(
            raw_password,
            settings.MAILADMIN_PASSWORD_SCHEME,
            bcrypt_cost=settings.MAILADMIN_BCRYPT_COST,
        )

    def check_password(self, raw_password):
        from users import passwords

        # user: DIGEST-MD5 hashes the login name too; Dovecot takes the one the client typed.
        return passwords.verify_password(
            raw_password, self.password, default_scheme=settings.MAILADMIN_DEFAULT_PASS_SCHEME, user=self.email
        )

    @property
    def password_scheme(self):
        from users import passwords

        try:
            return passwords.scheme_of(
                self.password, default_scheme=settings.MAILADMIN_DEFAULT_PASS_SCHEME
            )
        except ValueError:
            return "UNKNOWN"


class DomainAdminGrant(models.Model):
    """A staff account that administers one domain (a panel-owned table)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="domain_grants"
    )
    # No database constraint towards the mail tables: the server's own scripts may still
    # `DELETE FROM virtual_domains` without knowing about the panel's tables.
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="admin_grants", db_constraint=False
    )

    class Meta:
        db_table = "mailadmin_domain_admin"
        constraints = [
            models.UniqueConstraint(fields=["user", "domain"], name="domain_admin_grant_uniq"),
        ]

    def __str__(self):
        return f"{self.user} administers {self.domain}"



# --- Self-service: recovery addresses and reset links (panel-owned tables) ----------------------
#
# Both point at virtual_users without a database constraint, as DomainAdminGrant does: the
# server's own scripts may `DELETE FROM virtual_users` knowing nothing of the panel's tables,
# and a foreign key would make that fail. Deletes through Django still cascade.


class RecoveryAddress(models.Model):
    """Where "forgot password" sends a mailbox's reset link (chosen by the mailbox user)."""

    mailbox = models.OneToOneField(
        Mailbox, on_delete=models.CASCADE, related_name="recovery", db_constraint=False
    )
    address = models.EmailField(max_length=254)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "mailadmin_recovery_address"

    def __str__(self):
        return f"{self.mailbox_id} -> {self.address}"


class PasswordResetToken(models.Model):
    """A one-time reset link. Only a SHA-256 of the token is stored; the link dies when it is
    used, when it expires, and when the mailbox's password changes by any route (the row keeps
    a keyed fingerprint of the hash it was made for, see users.recovery)."""

    ADMIN, RECOVERY, COMMAND = "admin", "recovery", "command"
    ORIGINS = [
        (ADMIN, "made by an admin"),
        (RECOVERY, "sent to the recovery address"),
        (COMMAND, "made on the command line"),
    ]

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.CASCADE, related_name="reset_tokens", db_constraint=False
    )
    # hex SHA-256 of the token in the link; looked up on every link opening.
    token_hash = models.CharField(max_length=64, unique=True)
    password_fingerprint = models.CharField(max_length=64)
    origin = models.CharField(max_length=16, choices=ORIGINS)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "mailadmin_password_reset_token"
        indexes = [
            # "was a link sent to this mailbox's recovery address lately?" (users.recovery)
            models.Index(fields=["mailbox", "created_at"], name="reset_token_mailbox_created"),
        ]

    def __str__(self):
        return f"reset link for mailbox {self.mailbox_id} ({self.origin})"


# --- Kept figures (users.tallies): per-domain counts the write API maintains -----------------
#
# No database constraint towards the mail tables, as for the other panel-owned tables: the
# server's own scripts may delete rows knowing nothing of these.


class DomainCount(models.Model):
    domain_id = models.IntegerField(primary_key=True)
    # 1 on a domain's own row, the number of domains on the all-domains row: summed like the others.
    domains = models.IntegerField(default=0)
    mailboxes = models.IntegerField(default=0)
    aliases = models.IntegerField(default=0)

    class Meta:
        db_table = "mailadmin_domain_count"
        indexes = [
            # The Django admin's domain list sorted by a count: read in order from here, with
            # each domain's row joined, instead of every domain's counts sorted.
            models.Index(fields=["mailboxes", "domain_id"], name="domain_count_mailboxes"),
            models.Index(fields=["aliases", "domain_id"], name="domain_count_aliases"),
        ]


class SchemeCount(models.Model):
    domain_id = models.IntegerField()
    # hash_inventory.scheme_key(): "BLF-CRYPT", "none", "malformed" …
    scheme = models.CharField(max_length=40)
    mailboxes = models.IntegerField(default=0)

    class Meta:
        db_table = "mailadmin_scheme_count"
        constraints = [models.UniqueConstraint(fields=["domain_id", "scheme"], name="scheme_count_domain_scheme")]


class TallyWatermark(models.Model):
    """The highest id of a mail table the kept figures include."""

    table = models.CharField(max_length=64, primary_key=True)
    max_id = models.BigIntegerField()

    class Meta:
        db_table = "mailadmin_tally_watermark"


# --- Quota usage, as Dovecot reports it (a panel-owned table Dovecot writes) -----------------


class QuotaUsage(models.Model):
    """One mailbox's usage, written by Dovecot's quota_clone plugin through its dict-sql service:
    `INSERT INTO quota_usage (bytes, email) VALUES (…) ON DUPLICATE KEY UPDATE bytes=…` and the
    same for `messages` (aliases.server_config.dovecot_quota_clone_files emits the map). The
    panel only reads it. No row means Dovecot has not reported this mailbox yet, never "empty".

    Keyed by the address, as Dovecot's username is: the key the upsert needs is also the join
    a page of mailboxes makes (`select_related("usage")`, one LEFT JOIN on the primary key).
    """

    # No database constraint: Dovecot writes a row for whatever user it serves, and the row
    # outlives a mailbox deleted in the panel exactly as its maildir does (the panel removes
    # neither), so a re-created address shows the mail that is still on disk.
    mailbox = models.OneToOneField(
        Mailbox,
        to_field="email",
        db_column="email",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="usage",
    )
    bytes = models.BigIntegerField(default=0)
    messages = models.BigIntegerField(default=0)
    # Kept by the database (DEFAULT/ON UPDATE CURRENT_TIMESTAMP on MariaDB): Dovecot's upsert
    # names only the value column, and the panel never writes this table.
    updated = models.DateTimeField(null=True, blank=True, db_default=Now())
    # The panel's own column: millionths of the mailbox's quota that `bytes` is, rounded down
    # (1,000,000 = full), kept by database triggers (users/migrations/0009_quota_usage_used_ppm.py)
    # on every write of either table, Dovecot's included. NULL when there is no limit or no
    # mailbox. A ratio of two tables' columns cannot be indexed; this copy can, so the fullest
    # mailboxes and the order by percent are index range scans.
    used_ppm = models.BigIntegerField(null=True, blank=True, editable=False)
    # The panel's own column too: the domain of the mailbox this address belongs to (NULL: none),
    # kept by the same triggers (users/migrations/0011_domain_usage.py), so that they know which
    # domain's DomainUsage a change moves bytes out of.
    domain_id = models.IntegerField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "quota_usage"
        verbose_name_plural = "quota usage"
        indexes = [
            # The dashboard's fullest mailboxes and the mailbox list's order by percent.
            models.Index(fields=["used_ppm", "mailbox"], name="quota_usage_used_ppm"),
            # The mailbox list's order by used bytes.
            models.Index(fields=["bytes", "mailbox"], name="quota_usage_bytes"),
        ]

    def __str__(self):
        return f"{self.mailbox_id}: {self.bytes} bytes, {self.messages} messages"


class DomainUsage(models.Model):
    """A domain's reported usage: the sum of its mailboxes' quota_usage bytes and how many rows
    that is, and how many of them are full or nearly full, kept by quota_usage's triggers
    (users/migrations/0011_domain_usage.py, 0014_kept_quota_alerts.py) as Dovecot writes. No row:
    nothing reported. The row of domain id 0 (tallies.ALL_DOMAINS) keeps the full and nearly
    full mailboxes of all domains together, and no bytes."""

    domain_id = models.IntegerField(primary_key=True)
    bytes = models.BigIntegerField(default=0)
    reported = models.IntegerField(default=0)
    # At 100 % of the quota or more; at 90 to 99 % (quota_usage.FULL, NEARLY_FULL).
    mailboxes_full = models.IntegerField(default=0)
    mailboxes_nearly_full = models.IntegerField(default=0)

    class Meta:
        db_table = "mailadmin_domain_usage"


# The guide's tables are utf8mb3: a 4-byte character in a lookup matches nothing, never a 500.
utf8mb3.guard(Domain, "name")
utf8mb3.guard(Mailbox, "email", "password")
