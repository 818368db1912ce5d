"""Staff pages for aliases: list, create (several destinations at once), edit one row, delete."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from aliases import forms, sender_rights, services
from mailadmin.operator import Operator
from aliases.access import aliases_for, get_alias_for_user
from mailadmin.permissions import staff_required
from users import addresses
from users.access import domains_for
from users.listing import paginate_large, search_prefix


@staff_required
@require_GET
def alias_list(request):
    aliases = aliases_for(request.user)
    query = search_prefix(request)
    if query:
        # Prefix matches: `source` leads the unique (source, destination) key and `destination`
        # has its own index, so both tests run on indexes. istartswith because startswith is
        # LIKE BINARY on MariaDB, which reads the whole table; stored addresses are lowercase.
        aliases = aliases.filter(Q(source__istartswith=query) | Q(destination__istartswith=query))
    domain_name = request.GET.get("domain", "")
    if domain_name:
        aliases = aliases.filter(domain__name=domain_name)
    # COUNT(*) over 200,000 aliases costs 40-60 ms: the total is kept for a minute.
    page = paginate_large(request, aliases.order_by("source", "destination"), cache_count=True)
    return render(
        request,
        "aliases/alias_list.html",
        {"page": page, "q": request.GET.get("q", ""), "domain_name": domain_name},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def alias_create(request):
    initial = {}
    if request.GET.get("source"):
        initial["source"] = request.GET["source"]
    form = forms.AliasCreateForm(request.POST or None, domains=domains_for(request.user), initial=initial)
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
    return render(request, "aliases/alias_form.html", _form_context(form, title="New alias"))


@staff_required
@require_http_methods(["GET", "POST"])
def alias_edit(request, pk):
    alias = get_alias_for_user(request.user, pk)
    initial = {"source": alias.source, "destination": alias.destination}
    form = forms.AliasEditForm(
        request.POST or None, domains=domains_for(request.user), alias=alias, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        source, destination = form.cleaned_data["source"], form.cleaned_data["destination"]
        form.sending_preview = sender_rights.preview_edit(alias, source, destination)
        if not form.needs_confirmation:
            try:
                services.update_alias(Operator.for_request(request), alias, source, destination)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, f"Alias changed to {alias}.")
                return redirect(_list_of(alias.source))
    return render(request, "aliases/alias_form.html", _form_context(form, title="Edit alias", alias=alias))


def _form_context(form, **extra):
    confirming = form.is_bound and not form.errors and form.needs_confirmation
    return {
        "form": form,
        "confirming": confirming,
        "fingerprint": form.current_fingerprint if confirming else "",
        "sending_preview": form.sending_preview,
        **extra,
    }


def _list_of(source):
    return f"{reverse('alias-list')}?{urlencode({'q': source})}"


@staff_required
@require_http_methods(["GET", "POST"])
def alias_delete(request, pk):
    alias = get_alias_for_user(request.user, pk)
    if request.method == "POST":
        shown = str(alias)
        services.delete_alias(Operator.for_request(request), alias)
        messages.success(request, f"Alias {shown} deleted.")
        return redirect("alias-list")
    preview = sender_rights.preview_delete(alias)
    return render(request, "aliases/alias_delete.html", {"alias": alias, "sending_preview": preview})


@staff_required
@require_GET
def alias_preview(request):
    """The sending-rights preview as an HTML fragment, for the alias form's live preview.

    Read-only and for the admin's own domains only (the form checks the source); an input
    that is not valid yet gets an empty answer, and the form says why when it is sent.
    """
    alias = None
    if request.GET.get("alias"):
        alias = get_alias_for_user(request.user, request.GET["alias"])
        form = forms.AliasEditForm(request.GET, domains=domains_for(request.user), alias=alias)
    else:
        form = forms.AliasCreateForm(request.GET, domains=domains_for(request.user))
    if not form.is_valid():
        return HttpResponse(status=204)
    source = form.cleaned_data["source"]
    if alias is not None:
        preview = sender_rights.preview_edit(alias, source, form.cleaned_data["destination"])
    else:
        preview = sender_rights.preview_create(source, form.cleaned_data["destinations"])
    return render(request, "aliases/_sending_preview.html", {"sending_preview": preview})
