"""The admin lists' page links, whose query string is worked out once per list, are the links
Django's own paginator_number prints."""

from types import SimpleNamespace

import pytest
from django.contrib.admin.templatetags.admin_list import paginator_number as djangos
from django.contrib.admin.views.main import ChangeList

from mailadmin.admin_pagination import _PAGE_MARK, paginator_number


class AList:
    """What paginator_number reads of a change list; the query strings are ChangeList's own."""

    get_query_string = ChangeList.get_query_string

    def __init__(self, filter_params, page_num=2, num_pages=10):
        self.filter_params = filter_params
        self.page_num = page_num
        self.paginator = SimpleNamespace(ELLIPSIS="…", num_pages=num_pages)


@pytest.mark.parametrize(
    "filter_params",
    [
        {},
        {"q": ["a&b=c d"], "o": ["-3.1"]},
        {"scheme": ["PLAIN"], "domain__id__exact": ["4"], "q": ["<ü>"]},
        {"p": ["3"]},
        {"a": [_PAGE_MARK], "ap": [_PAGE_MARK], "q": [f"p={_PAGE_MARK}&"]},
        {"tag": ["1", "2"], "all": [""]},
    ],
    ids=["none", "search", "filters", "a page already", "the marker itself", "many values"],
)
def test_each_page_link_is_djangos(filter_params):
    changelist = AList(filter_params)
    for number in [1, 2, "…", 5, 9, 10]:
        assert str(paginator_number(changelist, number)) == str(djangos(changelist, number))
