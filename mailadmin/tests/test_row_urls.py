"""A list's row links, reversed once per page, are the URLs reverse() gives for each row."""

import pytest
from django.urls import reverse

from mailadmin.row_urls import RowUrl

ODD_SOURCES = [
    "info@a.example", "@a.example", "a+tag@a.example", "o'brien@a.example", "%41%2F@a.example",
    "ü@xn--bcher-kva.example", "a&b=c;d@a.example", "a b@a.example", "x#y?z@a.example", "~.!$*(),@a.example",
]


@pytest.mark.parametrize("source", ODD_SOURCES)
@pytest.mark.parametrize("name", ["alias-address", "alias-address-delete"])
def test_a_row_link_is_what_reverse_gives(name, source):
    assert RowUrl(name)(source) == reverse(name, args=[source])


def test_every_character_is_quoted_as_reverse_quotes_it():
    # All of ASCII but "/", which the address pattern refuses, and some of the rest.
    for character in [chr(code) for code in range(0x20, 0x7F) if chr(code) != "/"] + ["ü", "ß", "€", "😀", "\u00a0"]:
        source = f"a{character}b@a.example"
        assert RowUrl("alias-address")(source) == reverse("alias-address", args=[source]), repr(character)


@pytest.mark.parametrize("pk", [1, 42, 10**12])
def test_a_row_link_by_id_is_what_reverse_gives(pk):
    assert RowUrl("mailbox-detail")(pk) == reverse("mailbox-detail", args=[pk])
    assert RowUrl("domain-detail")("xn--bcher-kva.example") == reverse("domain-detail", args=["xn--bcher-kva.example"])


def test_the_kept_row_link_follows_the_script_prefix_the_panel_is_served_under():
    from django.urls import get_script_prefix, set_script_prefix

    before = get_script_prefix()
    try:
        assert RowUrl.of("mailbox-detail")(7) == reverse("mailbox-detail", args=[7])
        set_script_prefix("/mail/panel/")
        assert RowUrl.of("mailbox-detail")(7) == reverse("mailbox-detail", args=[7]) == "/mail/panel/mailboxes/7/"
    finally:
        set_script_prefix(before)
    assert RowUrl.of("mailbox-detail")(7) == reverse("mailbox-detail", args=[7])
