"""Staff pages: dashboard, domains, a domain's page, mailboxes, domain admins.

Every object is reached through `mailadmin.permissions` (404 outside the user's domains);
every change is a POST through `users.services`, which validates and writes in one
transaction. Lists are built for a million mailboxes (bench/RESULTS.md has the figures): no join
to the domains, the mailbox list paged by key (mailadmin.keyset), totals kept by the write API
(users.tallies) or counted only up to a cap, prefix searches that range-scan the unique indexes
on `email` and `name`.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailadmin import keyset, kept_statements
from mailadmin.operator import Operator
from mailadmin.pagination import PickedPaginator
from mailadmin.permissions import staff_required, superadmin_required
from mailadmin.row_urls import RowUrl
from mailadmin.staff.reauth import recent_auth_required
from users import addresses, forms, hash_inventory, mailbox_seek, quota_usage, services, tallies
from users.listing import (
    PAGE_SIZE, SEARCH_TOTAL_CAP, TOTAL_CAP, mailbox_rows, paginate_large, paginate_search,
    query_without, search_prefix, show_once,
)
from users.access import domains_for, get_domain_for_user, get_mailbox_for_user, mailboxes_for
from users.models import Mailbox
from users.templatetags.quota import size

# A domain's page lists this many of its mailboxes and of its alias addresses.
DOMAIN_PAGE_ROWS = 20

# --- Domains -------------------------------------------------------------------------------


@staff_required
@require_GET
def domain_list(request):
    domains = domains_for(request.user)
    query = search_prefix(request)
    # Rows added behind the panel's back are noticed once, for all the page's figures.
    if query:
        tallies.ensure_counted()
        # A range scan of the names' index (startswith is LIKE BINARY on MariaDB, which the
        # case-insensitive index does not serve: a scan of every name).
        def found(text):
            return domains.filter(name__istartswith=text).order_by("name")

        page = paginate_search(request, found, query, kept_as=("domain search", kept_statements.scope_of(request.user)))
    else:
        page = paginate_large(
            request, domains.order_by("name"), known_count=tallies.totals(request.user)["domains"],
            kept_as=("domain list", kept_statements.scope_of(request.user)),
        )
    # The figures each row shows are kept ones, read by the shown domains' keys.
    rows = quota_usage.add_domain_totals(tallies.add_domain_counts(page.object_list, checked=True))
    detail_url = RowUrl.of("domain-detail")
    for domain in rows:
        domain.detail_url = detail_url(domain.name)
        # Made here rather than called by the fragment: a call from Jinja2 cost more than the size.
        domain.used_size = size(domain.used_bytes)
    return render(
        request,
        "users/domain_list.html",
        {"page": page, "rows": rows, "q": request.GET.get("q", ""), "page_query": query_without(request, "page")},
    )


@superadmin_required
@require_http_methods(["GET", "POST"])
def domain_create(request):
    form = forms.DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.create_domain(Operator.for_request(request), form.cleaned_data["name"])
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(request, f"Domain {domain.display_name} created.")
            return redirect("domain-detail", name=domain.name)
    return render(request, "users/domain_form.html", {"form": form})


@staff_required
@require_GET
def domain_detail(request, name):
    domain = get_domain_for_user(request.user, name)
    # The domain is one the user may see: its kept rows are read by its key.
    counts, usage = tallies.domain_figures(domain)
    domain.mailbox_count, domain.alias_count = counts["mailboxes"], counts["aliases"]
    # An overview: the first mailboxes and alias addresses, each section linking to its list
    # filtered to the domain, which pages, searches and sorts them. The page costs the same
    # for a domain of 100,000 mailboxes as for one of 10.
    # Both read through statements kept for every domain's page: only the domain's id differs.
    mailboxes = keyset.kept_rows(
        ("domain page mailboxes", DOMAIN_PAGE_ROWS),
        lambda pk: quota_usage.with_usage(Mailbox.objects.filter(domain_id=pk).order_by("email"))[: DOMAIN_PAGE_ROWS + 1],
        values=(domain.pk,),
    )
    alias_sources = keyset.kept_rows(
        ("domain page aliases", DOMAIN_PAGE_ROWS),
        # The aliases app's model, reached through the relation: users never imports aliases.
        lambda pk: domain.aliases.model.objects.filter(domain_id=pk)
        .order_by("source").values_list("source", flat=True).distinct()[: DOMAIN_PAGE_ROWS + 1],
        values=(domain.pk,),
    )
    return render(
        request,
        "users/domain_detail.html",
        {
            "domain": domain,
            "usage_totals": quota_usage.totals_of(usage, domain.mailbox_count),
            "mailbox_rows": mailbox_rows(mailboxes[:DOMAIN_PAGE_ROWS], usage_bars=True),
            "more_mailboxes": len(mailboxes) > DOMAIN_PAGE_ROWS,
            "alias_sources": alias_sources[:DOMAIN_PAGE_ROWS],
            "more_aliases": len(alias_sources) > DOMAIN_PAGE_ROWS,
            "alias_row_count": domain.alias_count,
            "can_delete": request.user.is_superuser,
        },
    )


def _has_mailboxes(request, name):
    return Mailbox.objects.filter(domain__name=name).exists()


@superadmin_required
@require_http_methods(["GET", "POST"])
@recent_auth_required(when=_has_mailboxes)
def domain_delete(request, name):
    domain = get_domain_for_user(request.user, name)
    form = forms.DomainDeleteForm(request.POST or None, domain=domain)
    if request.method == "POST" and form.is_valid():
        summary = services.delete_domain(
            Operator.for_request(request), domain, remove_forwarding=bool(request.POST.get("remove_forwarding"))
        )
        messages.success(
            request,
            f"Domain {domain.display_name} deleted with {summary['mailboxes']} mailboxes and "
            f"{summary['aliases']} aliases"
            + (f" (and {summary['aliases elsewhere']} alias rows elsewhere)" if summary["aliases elsewhere"] else "")
            + f". Mail on disk under {settings.MAILADMIN_VMAIL_ROOT}/"
            f"{domain.name}/ was not removed.",
        )
        return redirect("domain-list")
    return render(
        request,
        "users/domain_delete.html",
        {
            "domain": domain,
            "form": form,
            "summary": services.cascade_summary(domain),
            "vmail_root": settings.MAILADMIN_VMAIL_ROOT,
        },
    )


# --- Mailboxes -----------------------------------------------------------------------------

MAILBOX_SORTS = {
    **{sort: list(columns) for sort, columns in mailbox_seek.ORDERINGS.items()},
    **quota_usage.SORTS,
}


def _by_address_prefix(mailboxes, prefix):
    # istartswith, not startswith: MariaDB renders startswith as LIKE BINARY, which cannot
    # range-scan the case-insensitive unique index; stored addresses are lowercase anyway.
    return mailboxes.filter(email__istartswith=prefix)


def _by_domain_prefix(mailboxes, prefix):
    return mailboxes.filter(domain__name__istartswith=prefix)


def _search(query):
    """(narrow, values) for keyset.QuerySetSeek, or None for no search: "@a.example" finds a
    domain's mailboxes, any other text the addresses it starts."""
    if not query:
        return None
    return (_by_domain_prefix, (query[1:],)) if query.startswith("@") else (_by_address_prefix, (query,))


@staff_required
@require_GET
def mailbox_list(request):
    # `unsearched`: the list narrowed by all but the search, which kept statements take as a value.
    unsearched = mailboxes = mailboxes_for(request.user)
    query = search_prefix(request)
    search = _search(query)
    if search:
        narrow, values = search
        mailboxes = narrow(mailboxes, *values)
    domain_name = request.GET.get("domain", "")
    if domain_name:
        mailboxes = mailboxes.filter(domain__name=domain_name)
        unsearched = unsearched.filter(domain__name=domain_name)
    scheme = request.GET.get("scheme", "")
    if scheme:
        mailboxes = hash_inventory.mailboxes_with(mailboxes, scheme)
    over = request.GET.get("over", "")
    over = int(over) if over in ("90", "100") else None  # the dashboard's "all mailboxes over …" links
    if over:
        mailboxes = quota_usage.over(mailboxes, over)
        unsearched = quota_usage.over(unsearched, over)
    sort = request.GET.get("sort", "email")
    if sort not in MAILBOX_SORTS:
        sort = "email"
    narrowed = bool(query or scheme or over)  # an `over` the list ignores narrows nothing
    if narrowed and not _order_served_by_narrowing(search, scheme, over, sort):
        # A search's cap for a filter too: at a million mailboxes, picking 1,000 and sorting
        # them took MariaDB 3-4 ms, 200 of them 0.7-1.
        page = _picked_page(request, mailboxes, sort, cap=SEARCH_TOTAL_CAP)
    else:
        page = _page_in_order(request, mailboxes, unsearched, search, over, sort, domain_name, narrowed)
    return render(
        request,
        "users/mailbox_list.html",
        {
            "page": page,
            "rows": mailbox_rows(page, usage_bars=True),
            "q": request.GET.get("q", ""),
            "sort": sort,
            "domain_name": domain_name,
            "scheme": scheme,
            "over": over or "",
            "filter_query": query_without(request, "page", "sort", "after", "before"),
            "page_query": query_without(request, "page"),
        },
    )


def _order_served_by_narrowing(search, scheme, over, sort):
    """Whether a narrowed list's order is that of the index its narrowing reads: an address
    search's by address, the share of the quota's by that share. Otherwise a page walks the
    order's index testing each row, as far as the next matches are (a scheme's mailboxes from
    the end of the addresses: 200 ms at a million; a domain search sorted every match)."""
    if scheme or (search and over):
        return False
    if search:
        return search[0] is _by_address_prefix and sort in ("email", "-email")
    if over:
        return sort in ("percent", "-percent")
    return True


def _picked_page(request, mailboxes, sort, cap):
    """A page of `mailboxes`, a narrowed list, picked: the ids of up to `cap` + 1 of them read
    through the narrowing's own index, then each page's ids sorted by the database among them
    (at most `cap`, whatever the size of the installation) and its rows read by id. Beyond
    `cap`, the page says "more than `cap` match; `cap` of them are listed"."""
    ids = list(mailboxes.order_by().values_list("pk", flat=True)[: cap + 1])
    # Sorted among the ids alone: the narrowing's conditions could lead MariaDB back to walking an index.
    paginator = PickedPaginator(
        ids[:cap], quota_usage.with_usage(mailboxes_for(request.user)), _picked_order(sort), PAGE_SIZE,
        capped=len(ids) > cap, kept_as=("picked mailboxes", kept_statements.scope_of(request.user)),
    )
    return paginator.get_page(request.GET.get("page"))


def _picked_order(sort):
    """MAILBOX_SORTS[sort] for mailboxes picked by id: by a figure, those without one (not
    reported, no limit) last, by address, as quota_usage.KeptOrderPaginator lists them."""
    if sort not in quota_usage.SORTS:
        return MAILBOX_SORTS[sort]
    figure = quota_usage.SORTS[sort][0]
    if figure.startswith("-"):
        return [F(figure[1:]).desc(nulls_last=True), "-email"]
    return [F(figure).asc(nulls_last=True), "email"]


def _page_in_order(request, mailboxes, unsearched, search, over, sort, domain_name, narrowed):
    """A page of the mailbox list read in its order: by a key (mailbox_seek) or, in a figure's
    order, through the figure's index (quota_usage.KeptOrderPaginator)."""
    # The rows' SQL depends only on whose list it is, the domain and the share of the quota it
    # is narrowed to, the order and the kind of search: it is kept, with a place for the
    # search's text.
    kept_as = (
        "mailbox list", kept_statements.scope_of(request.user), domain_name, over, sort, search and search[0].__name__
    )
    if search:
        def found(*values):
            return search[0](unsearched, *values).order_by()[: SEARCH_TOTAL_CAP + 1]

        total = keyset.Total.of(keyset.kept_count_of((*kept_as, "count"), found, values=search[1]), SEARCH_TOTAL_CAP)
    else:
        # First: the kept figures are counted again here when rows appeared behind the panel's
        # back, and the walk by domain reads them.
        total = _mailbox_total(request.user, mailboxes, filtered=narrowed, domain_name=domain_name, only_over=over)
    if sort in quota_usage.SORTS:
        ordered = quota_usage.with_usage(mailboxes).order_by(*MAILBOX_SORTS[sort])
        paginator = quota_usage.KeptOrderPaginator(
            ordered, PAGE_SIZE, known_count=total.count, capped=total.capped, kept_as=kept_as
        )
        return paginator.get_page(request.GET.get("page"))
    domains = None if narrowed else domains_for(request.user).filter(**({"name": domain_name} if domain_name else {}))
    if search:
        seek = mailbox_seek.seek(quota_usage.with_usage(unsearched), sort, kept_as=kept_as, narrowed=search)
    else:
        seek = mailbox_seek.seek(quota_usage.with_usage(mailboxes), sort, domains=domains, kept_as=kept_as)
    page = keyset.page_of(seek, request.GET, PAGE_SIZE, base_query=query_without(request, "page", "after", "before"))
    page.total = total
    return page


def _mailbox_total(user, mailboxes, *, filtered, domain_name, only_over=None):
    """The whole list's or one domain's total as the write API keeps it; a filtered list's
    counted up to TOTAL_CAP (what grows is never counted). `only_over`: the list is narrowed
    by that percent of the quota."""
    if not filtered and not domain_name:
        return keyset.Total(tallies.totals(user)["mailboxes"])
    if not filtered:
        return keyset.Total(tallies.domain_totals(user, name=domain_name)["mailboxes"])
    if only_over and not domain_name:
        return quota_usage.count_over(user, only_over, TOTAL_CAP)
    return keyset.capped_count(mailboxes, TOTAL_CAP)


@sensitive_variables("password")
def _password_from(form):
    from users import passwords  # written alongside these pages; imported when first needed

    return passwords.generate_password() if form.generates else form.cleaned_data["password1"]


@sensitive_post_parameters("password1", "password2")
@staff_required
@require_http_methods(["GET", "POST"])
def mailbox_create(request):
    domains = domains_for(request.user).order_by("name")
    initial = {"domain": request.GET.get("domain")} if request.GET.get("domain") else None
    form = forms.MailboxCreateForm(request.POST or None, domains=domains, initial=initial)
    warnings = []
    if request.method == "POST" and form.is_valid():
        warnings = services.warnings_for_mailbox(form.email)
        if warnings and request.POST.get("confirmed") != form.email:
            if not form.generates:
                form.add_error("password1", "For your safety a typed password is not sent back: type it again.")
            return render(
                request, "users/mailbox_form.html", {"form": form, "warnings": warnings, "confirm_email": form.email}
            )
        password = _password_from(form)
        try:
            mailbox = services.create_mailbox(
                Operator.for_request(request),
                form.email,
                password,
                quota=form.cleaned_data["quota"],
                domain=form.cleaned_data["domain"],
            )
        except ValidationError as error:
            password_field = None if form.generates else "password1"
            forms.add_service_errors(form, error, {"email": "local_part", "password": password_field, None: password_field})
        else:
            if form.generates:
                return show_once(
                    request, "users/password_shown.html", {"mailbox": mailbox, "password": password, "created": True}
                )
            messages.success(request, f"Mailbox {mailbox.display_email} created.")
            return redirect("mailbox-detail", pk=mailbox.pk)
    return render(request, "users/mailbox_form.html", {"form": form})


def _mailbox_page(request, mailbox, quota_form):
    return render(
        request,
        "users/mailbox_detail.html",
        {
            "mailbox": mailbox,
            "usage": quota_usage.usage_of(mailbox),
            "quota_form": quota_form,
            "scheme": mailbox.password_scheme,
        },
    )


@staff_required
@require_GET
def mailbox_detail(request, pk):
    mailbox = get_mailbox_for_user(request.user, pk)
    return _mailbox_page(
        request, mailbox, forms.QuotaForm(initial={"quota": addresses.format_quota(mailbox.quota)})
    )


@staff_required
@require_POST
def mailbox_quota(request, pk):
    mailbox = get_mailbox_for_user(request.user, pk)
    form = forms.QuotaForm(request.POST)
    if form.is_valid():
        try:
            services.set_quota(Operator.for_request(request), mailbox, form.cleaned_data["quota"])
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(
                request, f"Quota of {mailbox.display_email} is now {addresses.format_quota(mailbox.quota)}."
            )
            return redirect("mailbox-detail", pk=mailbox.pk)
    mailbox.refresh_from_db()
    return _mailbox_page(request, mailbox, form)


@sensitive_post_parameters("password1", "password2")
@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def mailbox_password(request, pk):
    mailbox = get_mailbox_for_user(request.user, pk)
    form = forms.NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        password = _password_from(form)
        try:
            services.set_password(Operator.for_request(request), mailbox, password)
        except ValidationError as error:
            forms.add_service_errors(form, error, {"password": "password1", None: "password1"})
        else:
            if form.generates:
                return show_once(request, "users/password_shown.html", {"mailbox": mailbox, "password": password})
            messages.success(request, f"Password of {mailbox.display_email} changed.")
            return redirect("mailbox-detail", pk=mailbox.pk)
    return render(
        request,
        "users/mailbox_password.html",
        {"mailbox": mailbox, "form": form, "scheme": settings.MAILADMIN_PASSWORD_SCHEME},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def mailbox_delete(request, pk):
    mailbox = get_mailbox_for_user(request.user, pk)
    if request.method == "POST":
        email = mailbox.display_email
        maildir = mailbox.maildir
        removed = services.delete_mailbox(
            Operator.for_request(request), mailbox, remove_forwarding=bool(request.POST.get("remove_forwarding"))
        )
        also = f" {removed} alias row{'s' if removed != 1 else ''} forwarding to it removed." if removed else ""
        messages.success(request, f"Mailbox {email} deleted. Its mail in {maildir} was not removed.{also}")
        return redirect("mailbox-list")
    return render(request, "users/mailbox_delete.html", {"mailbox": mailbox})
