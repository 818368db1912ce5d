"""What the staff list pages share: pages of large tables, the search box, one-time pages.

Used by the users and aliases apps alike (aliases builds on users, never the reverse)."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render

from mailadmin import keyset
from mailadmin.pagination import QuickPaginator
from mailadmin.row_urls import RowUrl
from users import addresses
from users.templatetags.quota import usage

PAGE_SIZE = 50
# A filter's total, and the addresses of the alias list, are counted up to here; beyond, the
# page says "more than".
TOTAL_CAP = 1000
# A search's total likewise, lower: a broad search is narrowed by typing more, and counting its
# matches is what grew with the installation (`alias042` finds 100 addresses at 10,000 mailboxes
# and 10,000 at 1,000,000: counting 1,001 of them took 0.36-0.43 ms more, most of the page's growth).
SEARCH_TOTAL_CAP = 200


def paginate_large(request, queryset, param="page", known_count=None, kept_as=None):
    """One page of a queryset (see mailadmin.pagination.QuickPaginator); a bad or too-large page
    number shows the nearest page, not a 404."""
    paginator = QuickPaginator(queryset, PAGE_SIZE, known_count=known_count, kept_as=kept_as)
    return paginator.get_page(request.GET.get(param))


class CappedPaginator(Paginator):
    """A Paginator that knows whether more rows match than it pages (the template says so)."""

    def __init__(self, object_list, per_page, *, capped=False, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.capped = capped


class SearchMatches:
    """The first `count` rows of found(text), sliced as Django's Paginator slices: each page's
    rows read by a statement kept per page with a place for the text (keyset.kept_rows), rather
    than built by the ORM on every view (a third of a domain search's instructions)."""

    def __init__(self, found, text, count, kept_as):
        self.found, self.text, self.count, self.kept_as = found, text, count, kept_as

    def __len__(self):
        return self.count

    def __getitem__(self, window):
        # A whole page from its first row, cut here: one statement per page, whatever the count.
        start, stop = window.start or 0, min(window.stop, self.count)
        rows = keyset.kept_rows(
            (*self.kept_as, "page from", start),
            lambda text: self.found(text)[start : start + PAGE_SIZE],
            values=(self.text,),
        )
        return rows[: stop - start]


def paginate_search(request, found, text, kept_as):
    """The page asked for of found(text)'s first SEARCH_TOTAL_CAP rows, counted up to that cap.
    found(text): a queryset whose SQL, but for the text, is the same whenever `kept_as` is."""
    counted = keyset.kept_count_of(
        (*kept_as, "count"), lambda text: found(text)[: SEARCH_TOTAL_CAP + 1], values=(text,)
    )
    total = keyset.Total.of(counted, SEARCH_TOTAL_CAP)
    matches = SearchMatches(found, text, total.count, kept_as)
    return CappedPaginator(matches, PAGE_SIZE, capped=total.capped).get_page(request.GET.get("page"))


def search_prefix(request):
    """The search text as the tables store it: lowercase, an IDN domain part as punycode."""
    text = (request.GET.get("q") or "").strip().lower()[:100]
    if "@" in text:
        local, _, domain = text.partition("@")
        try:
            domain = addresses.normalize_domain(domain) if domain and not domain.isascii() else domain
        except addresses.AddressError:
            pass
        return f"{local}@{domain}"
    if text and not text.isascii():
        try:
            return addresses.normalize_domain(text)
        except addresses.AddressError:
            return text
    return text


def show_once(request, template, context):
    """A page holding a freshly generated password: rendered on the POST itself, never cached."""
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    return response


def query_without(request, *names):
    """The request's query string without the parameters `names`, as QueryDict.urlencode()
    writes it: without copying the QueryDict first (a deep copy, 0.1 M instructions a call)."""
    return urlencode([(name, value) for name, values in request.GET.lists() if name not in names for value in values])


def mailbox_rows(mailboxes, *, usage_bars=False):
    """The mailboxes of a page with the links each row shows (`url`, `domain_url`) and, with
    `usage_bars`, the bar of their usage (`usage_bar`, {% usage %}'s HTML) made here rather than
    called by the fragment: Jinja2 spent 11,000 instructions on each call, half of the bar's cost."""
    detail, domain = RowUrl.of("mailbox-detail"), RowUrl.of("domain-detail")
    rows = list(mailboxes)
    for mailbox in rows:
        mailbox.url = detail(mailbox.pk)
        mailbox.domain_url = domain(mailbox.domain_name)
        if usage_bars:
            mailbox.usage_bar = usage(mailbox)
    return rows
