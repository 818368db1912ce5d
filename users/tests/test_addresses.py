import pytest

from users.addresses import (
    INT11_MAX,
    AddressError,
    address_to_unicode,
    domain_to_unicode,
    format_quota,
    normalize_address,
    normalize_alias_source,
    normalize_domain,
    parse_quota,
)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("Example.ORG", "example.org"),
        ("  example.org.  ", "example.org"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("mail.sub-domain.example", "mail.sub-domain.example"),
    ],
)
def test_domains_are_stored_lowercase_and_as_punycode(typed, stored):
    assert normalize_domain(typed) == stored


@pytest.mark.parametrize(
    "typed, fragment",
    [
        ("", "Enter a domain name"),
        ("jane@example.org", "without '@'"),
        ("example", "with a dot"),
        ("exa mple.org", "spaces"),
        ("-example.org", "cannot start or end with a hyphen"),
        ("example..org", "not a valid domain name"),
        ("example.123", "cannot be a number"),
        ("a" * 47 + ".org", "at most 50 characters"),
        ("xn--zz.de", "not valid punycode"),
    ],
)
def test_bad_domains_are_refused_with_a_reason(typed, fragment):
    with pytest.raises(AddressError, match=fragment):
        normalize_domain(typed)


def test_the_length_limit_counts_the_stored_punycode_not_the_typed_unicode():
    typed = "äöüéèáàíìóòúùâêîô.ñçåøæœþðłńśźż.org"  # 35 characters typed, 59 as punycode
    with pytest.raises(AddressError, match="at most 50 characters as stored"):
        normalize_domain(typed)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("John@Example.org", "john@example.org"),
        (" jane.doe+tag@example.org ", "jane.doe+tag@example.org"),
        ("info@bücher.de", "info@xn--bcher-kva.de"),
    ],
)
def test_addresses_are_stored_lowercase_with_a_punycode_domain(typed, stored):
    assert normalize_address(typed) == stored


@pytest.mark.parametrize(
    "typed, fragment",
    [
        ("", "Enter an email address"),
        ("jane", "exactly one '@'"),
        ("a@b@example.org", "exactly one '@'"),
        ("@example.org", "before '@' is empty"),
        (".jane@example.org", "not a valid mailbox name"),
        ("ja ne@example.org", "not a valid mailbox name"),
        ("jane..doe@example.org", "not a valid mailbox name"),
        ("x" * 65 + "@example.org", "at most 64 characters"),
        ("x" * 60 + "@" + "d" * 30 + ".example.org", "at most 100 characters"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(typed, fragment):
    with pytest.raises(AddressError, match=fragment):
        normalize_address(typed)


def test_an_alias_source_may_be_a_catch_all_for_a_domain():
    assert normalize_alias_source("@Example.ORG") == "@example.org"
    assert normalize_alias_source("Sales@Example.org") == "sales@example.org"


def test_punycode_is_shown_in_unicode():
    assert domain_to_unicode("xn--bcher-kva.de") == "bücher.de"
    assert address_to_unicode("info@xn--bcher-kva.de") == "info@bücher.de"
    assert domain_to_unicode("example.org") == "example.org"


@pytest.mark.parametrize(
    "typed, size",
    [
        ("0", 0),
        ("", 0),
        ("unlimited", 0),
        ("1024", 1024),
        ("500M", 500 * 1024**2),
        ("500m", 500 * 1024**2),
        ("2G", 2 * 1024**3),
        ("2 GiB", 2 * 1024**3),
        ("1.5G", 1536 * 1024**2),
        ("10K", 10240),
        ("1T", 1024**4),
    ],
)
def test_quota_sizes_are_read_1024_based_as_dovecot_does(typed, size):
    assert parse_quota(typed) == size


@pytest.mark.parametrize("typed", ["-5", "5X", "M", "two gigs", "1e9"])
def test_a_quota_that_is_not_a_size_is_refused(typed):
    with pytest.raises(AddressError, match="is not a size"):
        parse_quota(typed)


def test_a_quota_beyond_an_int11_column_is_refused_clearly():
    assert parse_quota("1G", max_bytes=INT11_MAX) == 1024**3
    with pytest.raises(AddressError, match="more than this database's quota column holds"):
        parse_quota("2G", max_bytes=INT11_MAX)


def test_quotas_are_shown_in_the_largest_exact_unit():
    assert format_quota(0) == "unlimited"
    assert format_quota(2 * 1024**3) == "2G"
    assert format_quota(1536 * 1024**2) == "1536M"
    assert format_quota(1000) == "1000 bytes"
