"""Every name a staff page's template looks up is one its view gives: a name it does not give
prints nothing, silently, and costs Django's template language three exceptions to find out."""

import copy

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

MARK = "NOT-IN-CONTEXT:"


def templates_marking_unknown_names():
    templates = copy.deepcopy(settings.TEMPLATES)
    for engine in templates:
        if engine["BACKEND"].endswith("DjangoTemplates"):
            engine["OPTIONS"]["string_if_invalid"] = MARK + "%s"
    return templates


@pytest.mark.parametrize(
    "name, args, query",
    [
        ("dashboard", [], {}),
        ("domain-list", [], {}),
        ("domain-detail", ["a.example"], {}),
        ("mailbox-list", [], {}),
        ("mailbox-list", [], {"sort": "-used"}),
        ("mailbox-list", [], {"q": "jane", "domain": "a.example"}),
        ("alias-list", [], {}),
        ("alias-list", [], {"q": "jane"}),
        ("audit-log", [], {}),
        ("bulk-import", [], {}),
        ("staff-list", [], {}),
    ],
)
def test_a_staff_page_looks_up_no_name_its_view_leaves_out(client, alice, jane_mailbox, name, args, query):
    client.force_login(alice)
    with override_settings(TEMPLATES=templates_marking_unknown_names()):
        response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    assert MARK not in response.content.decode()
