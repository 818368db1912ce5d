"""The one place validation lives: model clean(), used by forms, admin, CLI and imports."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from aliases.models import Alias
from aliases.services import create_aliases
from mailadmin.operator import Operator
from mailadmin.db import save_validated
from users import schema
from users.models import Domain, Mailbox
from users import services

ROOT = Operator.command_line()


def create_domain(name):
    return services.create_domain(ROOT, name)


def create_mailbox(email, password, **options):
    return services.create_mailbox(ROOT, email, password, **options)


def set_quota(mailbox, size):
    return services.set_quota(ROOT, mailbox, size)

PASSWORD = "a long enough passphrase 42"


def errors_of(excinfo):
    return excinfo.value.message_dict


def test_a_domain_is_stored_lowercase(db):
    assert create_domain("Example.ORG").name == "example.org"


def test_an_international_domain_is_stored_as_punycode_and_shown_in_unicode(db):
    domain = create_domain("Bücher.de")
    assert domain.name == "xn--bcher-kva.de"
    assert str(domain) == "bücher.de"


def test_a_domain_cannot_be_added_twice_in_any_case(db):
    create_domain("example.org")
    with pytest.raises(ValidationError) as excinfo:
        create_domain("EXAMPLE.org")
    assert errors_of(excinfo) == {"name": ["This domain already exists."]}


def test_a_mailbox_finds_its_domain_from_its_address(domain_a):
    mailbox = create_mailbox("Jane@A.example", PASSWORD)
    assert (mailbox.email, mailbox.domain) == ("jane@a.example", domain_a)


def test_a_mailbox_needs_an_existing_domain(db):
    with pytest.raises(ValidationError) as excinfo:
        create_mailbox("jane@nowhere.example", PASSWORD)
    assert errors_of(excinfo)["email"] == [
        "There is no domain nowhere.example in the panel; add the domain first."
    ]


def test_a_mailbox_address_must_be_in_its_own_domain(domain_a, domain_b):
    with pytest.raises(ValidationError) as excinfo:
        create_mailbox("jane@b.example", PASSWORD, domain=domain_a)
    assert "must end in @a.example" in errors_of(excinfo)["email"][0]


def test_a_mailbox_address_is_unique_in_any_case(domain_a):
    create_mailbox("jane@a.example", PASSWORD)
    with pytest.raises(ValidationError) as excinfo:
        create_mailbox("JANE@a.example", PASSWORD)
    assert errors_of(excinfo) == {"email": ["A mailbox with this address already exists."]}


def test_a_weak_password_is_refused_with_django_validators(domain_a):
    with pytest.raises(ValidationError) as excinfo:
        create_mailbox("jane@a.example", "short")
    assert "at least 12 characters" in " ".join(excinfo.value.messages)
    assert not Mailbox.objects.exists()


def test_a_password_like_the_address_is_refused(domain_a):
    with pytest.raises(ValidationError, match="too similar"):
        create_mailbox("jonathan.livingston@a.example", "jonathan.livingston")


def test_the_stored_password_is_a_dovecot_hash_of_the_configured_scheme(domain_a, settings):
    mailbox = create_mailbox("jane@a.example", PASSWORD)
    assert mailbox.password.startswith("{BLF-CRYPT}$2y$")
    assert PASSWORD not in mailbox.password
    assert mailbox.check_password(PASSWORD)
    assert not mailbox.check_password(PASSWORD + "x")


def test_quota_is_read_from_a_size(domain_a):
    mailbox = create_mailbox("jane@a.example", PASSWORD)
    set_quota(mailbox, "2G")
    mailbox.refresh_from_db()
    assert mailbox.quota == 2 * 1024**3


def test_a_quota_that_is_not_a_size_is_a_field_error(domain_a):
    mailbox = create_mailbox("jane@a.example", PASSWORD)
    with pytest.raises(ValidationError) as excinfo:
        set_quota(mailbox, "lots")
    assert "is not a size" in errors_of(excinfo)["quota"][0]


def test_an_alias_source_must_belong_to_its_domain(domain_a, domain_b):
    with pytest.raises(ValidationError) as excinfo:
        save_validated(Alias(domain=domain_a, source="info@b.example", destination="x@y.example"))
    assert "must be an address at a.example" in errors_of(excinfo)["source"][0]


def create_alias(source, destination):
    return create_aliases(Operator.command_line(), source, [destination])[0]


def test_an_alias_finds_its_domain_and_may_be_a_catch_all(domain_a, jane_mailbox):
    alias = create_alias("@A.example", "Jane@A.example")
    assert (alias.source, alias.destination, alias.domain) == ("@a.example", "jane@a.example", domain_a)
    assert alias.is_catch_all


def test_the_same_alias_row_cannot_be_added_twice(domain_a):
    create_alias("info@a.example", "jane@a.example")
    with pytest.raises(ValidationError, match="info@a.example already forwards to jane@a.example"):
        create_alias("INFO@a.example", "jane@A.example")
    assert Alias.objects.count() == 1


def test_two_admins_adding_one_domain_at_once_get_a_form_error_not_an_exception(db, monkeypatch):
    """The second INSERT passes the early check (the first is not committed yet) and hits the unique key."""
    real_full_clean = Domain.full_clean

    def check_then_lose_the_race(self, *args, **kwargs):
        real_full_clean(self, *args, **kwargs)
        Domain.objects.create(name=self.name)  # the other admin's insert lands in between

    monkeypatch.setattr(Domain, "full_clean", check_then_lose_the_race)
    with pytest.raises(ValidationError) as excinfo:
        save_validated(Domain(name="race.example"))
    assert errors_of(excinfo) == {"name": ["This domain already exists."]}
    assert Domain.objects.filter(name="race.example").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_quota_beyond_an_old_int11_column_is_a_clear_error(mariadb, domain_a):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE virtual_users MODIFY quota int(11) NOT NULL DEFAULT 0")
    connection.__dict__.pop("_mailadmin_quota_max", None)
    try:
        mailbox = create_mailbox("jane@a.example", PASSWORD, quota=1024**3)
        with pytest.raises(ValidationError) as excinfo:
            set_quota(mailbox, "2G")
        assert "more than this database's quota column holds" in errors_of(excinfo)["quota"][0]
        mailbox.refresh_from_db()
        assert mailbox.quota == 1024**3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE virtual_users MODIFY quota bigint(11) NOT NULL DEFAULT 0")
        connection.__dict__.pop("_mailadmin_quota_max", None)
    assert schema.quota_column_max() == 2**63 - 1
