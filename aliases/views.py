"""Staff pages for aliases. An alias is an address with its list of destinations, as Postfix
returns it: the list shows one line per address, one page adds and removes its destinations,
and every change shows beforehand where mail will be delivered and who may send as what."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from aliases import delivery, forms, listing, sender_rights, services
from aliases.access import aliases_for, get_alias_for_user
from mailadmin.operator import Operator
from mailadmin import keyset, kept_statements
from mailadmin.permissions import staff_required
from users import addresses
from users.access import domains_for
from users import tallies
from users.listing import PAGE_SIZE, SEARCH_TOTAL_CAP, TOTAL_CAP, query_without, search_prefix

@staff_required
@require_GET
def alias_list(request):
    aliases = aliases_for(request.user)
    domain_name = request.GET.get("domain", "")
    if domain_name:
        aliases = aliases.filter(domain__name=domain_name)
    query = search_prefix(request)
    # One line per address. Prefix matches: istartswith because startswith is LIKE BINARY on
    # MariaDB, which no case-insensitive index serves; stored addresses are lowercase.
    # The SQL depends only on whose list it is and the domain it is filtered to (and a search's
    # text, which kept statements take as a value).
    if query:
        seek = listing.SearchSeek(
            aliases, query, SEARCH_TOTAL_CAP, kept_as=("alias search", kept_statements.scope_of(request.user), domain_name)
        )
    else:
        seek = listing.sources_seek(aliases, kept_as=("alias list", kept_statements.scope_of(request.user), domain_name))
    page = keyset.page_of(seek, request.GET, PAGE_SIZE, base_query=query_without(request, "page", "after", "before"))
    # Addresses are counted only up to a cap (distinct sources are kept nowhere), a search's up
    # to a lower one (users.listing); the rows, which the write API keeps per domain, are told
    # exactly when nothing narrows the list.
    if query:
        page.total = seek.count()
        rows_note = ""
    else:
        page.total = keyset.capped_count(
            seek.queryset,
            TOTAL_CAP,
            kept_as=("alias addresses", kept_statements.scope_of(request.user), domain_name),
            in_order=["source"],
        )
        kept = tallies.domain_totals(request.user, name=domain_name) if domain_name else tallies.totals(request.user)
        rows_note = f"{kept['aliases']} alias row{'s' if kept['aliases'] != 1 else ''}"
    return render(
        request,
        "aliases/alias_list.html",
        {
            "page": page,
            "rows": listing.address_rows(list(page)),
            "q": request.GET.get("q", ""),
            "domain_name": domain_name,
            "total_noun": "address" if page.total.count == 1 and not page.total.capped else "addresses",
            "total_note": rows_note,
        },
    )


def _get_source_for_user(user, source):
    """The stored source, if the user sees rows of it; 404 otherwise."""
    try:
        source = services.normalize_source(source)
    except ValidationError:
        raise Http404("No such alias.")
    if not aliases_for(user).filter(source=source).exists():
        raise Http404("No such alias.")
    return source


@staff_required
@require_http_methods(["GET", "POST"])
def alias_create(request):
    initial = {"source": request.GET["source"]} if request.GET.get("source") else {}
    form = forms.AliasForm(request.POST or None, domains=domains_for(request.user), initial=initial)
    domain = domains_for(request.user).filter(name=request.GET.get("domain", "")).first()
    if domain is not None:
        # A hint, never a value: "@domain" typed in for someone would be a catch-all.
        form.fields["source"].widget.attrs["placeholder"] = f"info@{domain.display_name}"
    if request.method == "POST" and form.is_valid():
        source, destinations = form.cleaned_data["source"], form.cleaned_data["destinations"]
        form.sending_preview = sender_rights.preview_create(source, destinations)
        if not form.needs_confirmation:
            try:
                services.create_aliases(Operator.for_request(request), source, destinations)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                shown = addresses.address_to_unicode(source)
                count = len(destinations)
                messages.success(request, f"{shown} now forwards to {count} destination{'s' if count != 1 else ''}.")
                return redirect(_list_of(source))
    return render(request, "aliases/alias_form.html", _form_context(request, form, title="New alias"))


@staff_required
@require_http_methods(["GET", "POST"])
def alias_address(request, source):
    """The destinations of one address, added and removed in one step."""
    source = _get_source_for_user(request.user, source)
    current = services.current_destinations(source)
    initial = {"destinations": "\n".join(addresses.address_to_unicode(d) for d in current)}
    form = forms.AliasForm(request.POST or None, domains=domains_for(request.user), editing=source, initial=initial)
    if request.method == "POST" and form.is_valid():
        form.sending_preview = sender_rights.preview_alias_change(form.before_rows, form.after_rows)
        if form.unchanged:
            messages.info(request, "Nothing changed.")
            return redirect(_list_of(source))
        if not form.needs_confirmation:
            try:
                added, removed = services.replace_destinations(
                    Operator.for_request(request), source, form.cleaned_data["destinations"]
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                shown = addresses.address_to_unicode(source)
                messages.success(request, f"{shown}: {len(added)} destination(s) added, {len(removed)} removed.")
                return redirect(_list_of(source))
    title = f"Alias {addresses.address_to_unicode(source)}"
    return render(
        request, "aliases/alias_form.html", _form_context(request, form, title=title, source=source, current=current)
    )


def _form_context(request, form, **extra):
    confirming = form.is_bound and not form.errors and form.needs_confirmation
    context = {
        "form": form,
        "confirming": confirming,
        "fingerprint": form.current_fingerprint if confirming else "",
        **extra,
    }
    if confirming:
        context.update(_preview_context(form))
    return context


def _list_of(source):
    return f"{reverse('alias-list')}?{urlencode({'q': source})}"


@staff_required
@require_http_methods(["GET", "POST"])
def alias_address_delete(request, source):
    """Every destination of one address at once."""
    source = _get_source_for_user(request.user, source)
    rows = aliases_for(request.user).filter(source=source).select_related("domain")
    if request.method == "POST":
        services.delete_aliases(Operator.for_request(request), rows)
        messages.success(request, f"Alias {addresses.address_to_unicode(source)} deleted.")
        return redirect("alias-list")
    rows = list(rows.order_by("destination"))
    return render(
        request,
        "aliases/alias_delete.html",
        {
            "source": source,
            "display_source": addresses.address_to_unicode(source),
            "destinations": [row.display_destination for row in rows],
            "sending_preview": sender_rights.preview_delete(rows),
        },
    )


@staff_required
@require_GET
def alias_edit(request, pk):
    """The former one-row edit page: an alias is now edited as a whole."""
    alias = get_alias_for_user(request.user, pk)
    return redirect("alias-address", source=alias.source)


@staff_required
@require_http_methods(["GET", "POST"])
def alias_delete(request, pk):
    """The former one-row delete: a POST still removes that row; a GET shows the address's page."""
    alias = get_alias_for_user(request.user, pk)
    if request.method == "POST":
        shown = str(alias)
        services.delete_alias(Operator.for_request(request), alias)
        messages.success(request, f"Alias row {shown} deleted.")
        return redirect(_list_of(alias.source))
    return redirect("alias-address", source=alias.source)


@staff_required
@require_GET
def alias_preview(request):
    """Delivery and sending rights for the input so far, as an HTML fragment for the live preview.

    Read-only and for the admin's own domains only (the form checks the source). While the
    input is incomplete or wrong the fragment says why in a short sentence.
    """
    editing = None
    if request.GET.get("editing"):
        editing = _get_source_for_user(request.user, request.GET["editing"])
    form = forms.AliasForm(request.GET, domains=domains_for(request.user), editing=editing)
    if not form.is_valid():
        return render(request, "aliases/_change_preview.html", {"incomplete": _first_problem(form)})
    form.sending_preview = sender_rights.preview_alias_change(form.before_rows, form.after_rows)
    return render(request, "aliases/_change_preview.html", _preview_context(form))


def _first_problem(form):
    if not form.data.get("source", "").strip() and form.editing is None:
        return "Type the address to see where its mail will go."
    if not form.data.get("destinations", "").strip():
        return "Type at least one destination to see where mail will go."
    for field in ("source", "destinations", None):
        errors = form.errors.get(field or "__all__")
        if errors:
            return errors[0]
    return "The input is not complete yet."


def _preview_context(form):
    source = form.cleaned_data["source"]
    return {
        "display_source": addresses.address_to_unicode(source),
        "delivery": delivery.delivery_of(source, form.cleaned_data["destinations"]),
        "sending_preview": form.sending_preview,
        "hazards": form.hazards,
    }
