import pytest

from mailadmin.templatetags.mail import unicode_domains


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("info@xn--bcher-kva.de", "info@bücher.de"),
        ("info+*@xn--bcher-kva.de", "info+*@bücher.de"),
        ("@mail.xn--bcher-kva.de", "@mail.bücher.de"),
        ("jane@a.example loses info@xn--bcher-kva.de (until now through @xn--bcher-kva.de).",
         "jane@a.example loses info@bücher.de (until now through @bücher.de)."),
        ("jane@example.org", "jane@example.org"),
    ],
)
def test_punycode_domains_are_shown_in_unicode_wherever_they_stand(stored, shown):
    assert unicode_domains(stored) == shown
