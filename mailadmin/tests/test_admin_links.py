"""The admin lists' page links and filter choices, whose query strings are worked out once per
list (mailadmin/admin_query.py), are the ones Django's own code makes."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import paginator_number as djangos_paginator_number
from django.contrib.admin.views.main import ChangeList

from mailadmin.admin_pagination import paginator_number
from mailadmin.admin_query import QuickChoices
from mailadmin.row_urls import MARK


class AList:
    """What page links and filter choices read of a change list; the query strings are
    ChangeList's own."""

    get_query_string = ChangeList.get_query_string
    add_facets = False

    def __init__(self, filter_params, page_num=2, num_pages=10):
        self.filter_params = filter_params
        self.page_num = page_num
        self.paginator = SimpleNamespace(ELLIPSIS="…", num_pages=num_pages)


QUERIES = [
    {},
    {"q": ["a&b=c d"], "o": ["-3.1"]},
    {"scheme": ["PLAIN"], "domain__id__exact": ["4"], "q": ["<ü>"]},
    {"p": ["3"], "kind": ["x&y"]},
    {"a": [MARK], "ap": [MARK], "q": [f"p={MARK}&kind={MARK}"]},
    {"tag": ["1", "2"], "all": [""]},
]
QUERY_IDS = ["none", "search", "filters", "a page and a choice already", "the marker itself", "many values"]


@pytest.mark.parametrize("filter_params", QUERIES, ids=QUERY_IDS)
def test_each_page_link_is_djangos(filter_params):
    changelist = AList(filter_params)
    for number in [1, 2, "…", 5, 9, 10]:
        assert str(paginator_number(changelist, number)) == str(djangos_paginator_number(changelist, number))


class Kinds(QuickChoices):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("catch-all", "catch-all"), ("x&y", "x and y"), ("a b+c", "spaced"), ("ü/?#", "odd"), (5, "a number")]

    def queryset(self, request, queryset):
        return queryset


@pytest.mark.parametrize("filter_params", QUERIES, ids=QUERY_IDS)
def test_each_filter_choice_is_djangos(filter_params):
    changelist = AList(filter_params)
    kinds = Kinds(None, {name: list(values) for name, values in filter_params.items()}, None, None)

    def shown(choices):
        return [{**choice, "display": str(choice["display"])} for choice in choices]

    ours, djangos = shown(kinds.choices(changelist)), shown(admin.SimpleListFilter.choices(kinds, changelist))
    assert ours == djangos and len(ours) == 6


def test_the_admin_pages_media_is_printed_as_django_prints_it():
    from django.forms import Media, Script

    from mailadmin.admin_page import media_html

    media = Media(css={"all": ["a.css"], "print": ["p.css"]}, js=["b.js", "c.js"]) + Media(js=["c.js", "d.js"])
    djangos = (media["css"].render(), media["js"].render())
    assert media_html(media) == djangos == media_html(Media(css={"print": ["p.css"], "all": ["a.css"]}, js=["b.js", "c.js", "d.js"]))
    with_an_asset = media + Media(js=[Script("e.js", type="module")])
    assert media_html(with_an_asset)[1] == with_an_asset["js"].render() and 'type="module"' in media_html(with_an_asset)[1]


PRESERVED = [
    "",
    "scheme=PLAIN",
    "q=a%26b%3Dc+d&o=-3.1",
    "domain=4&q=%3C%C3%BC%3E&p=2",
    "_changelist_filters=scheme%3DPLAIN",
    "kind=x&kind=y&all=",
]


@pytest.mark.parametrize("preserved_filters", PRESERVED)
@pytest.mark.parametrize("name, args", [("admin:users_mailbox_change", ["__row_pk__"]), ("admin:users_mailbox_add", [])])
@pytest.mark.parametrize("popup, to_field", [(False, None), (True, "email")])
def test_a_rows_and_the_add_pages_preserved_filters_are_djangos(preserved_filters, name, args, popup, to_field):
    from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
    from django.urls import reverse

    from mailadmin.admin_query import with_preserved_filters
    from users.models import Mailbox

    url = reverse(name, args=args)
    djangos = add_preserved_filters(
        {"opts": Mailbox._meta, "preserved_filters": preserved_filters}, url, popup, to_field
    )
    assert with_preserved_filters(url, preserved_filters, popup, to_field) == djangos
