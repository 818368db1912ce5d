"""Form markup a screen reader depends on: every aria-describedby names an element of the page
(Django puts `<id>_helptext` and `<id>_error` on widgets; templates/_form.html renders them), and
a group of radio buttons is a fieldset with a legend."""

import re

import pytest
from django.urls import reverse

IDS = re.compile(r'\bid="([^"]+)"')
DESCRIBED_BY = re.compile(r'aria-describedby="([^"]+)"')


def dangling_references(html):
    ids = set(IDS.findall(html))
    return sorted({ref for refs in DESCRIBED_BY.findall(html) for ref in refs.split() if ref not in ids})


@pytest.mark.parametrize(
    "name, data",
    [
        ("mailbox-create", {"local_part": "bad local", "domain": "a.example", "quota": "lots", "password_mode": "type"}),
        ("alias-create", {"source": "not an address", "destinations": "not an address"}),
        ("domain-create", {"name": "-bad-"}),
    ],
)
def test_every_described_by_reference_names_an_element_of_the_page(client, alice, domain_a, name, data):
    client.force_login(alice)
    empty = client.get(reverse(name)).content.decode()
    with_errors = client.post(reverse(name), data).content.decode()
    assert "aria-describedby" in empty and "_error" in with_errors
    assert dangling_references(empty) == []
    assert dangling_references(with_errors) == []


def test_the_password_choice_is_a_fieldset_with_a_legend(client, alice, domain_a):
    client.force_login(alice)
    page = client.get(reverse("mailbox-create")).content.decode()
    group = page[page.index('<fieldset class="field"'):page.index("</fieldset>")]
    assert "<legend>Password</legend>" in group and 'name="password_mode"' in group
