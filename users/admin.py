"""Django admin for bulk edits of domains and mailboxes.

Every list is scoped with `.visible_to(user)`, so a staff account that is ever granted model
permissions still sees only its own domains. Passwords are never shown or edited as text:
a mailbox has a "set password" page, and bulk actions go through users.services.
"""

import csv
import functools
import html
import posixpath

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import (
    ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, TO_FIELD_VAR,
)
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F
from django.db.models.expressions import RawSQL
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.debug import sensitive_post_parameters

from mailadmin import admin_page, csv_safe, kept_statements
from mailadmin.admin_input import AdminInputGuards
from mailadmin.admin_ordering import IndexOrderedChangeList
from mailadmin.admin_pagination import AdminPaginator
from mailadmin.admin_query import QuickChoices
from mailadmin.admin_search import PrefixSearch, prefix_search
from mailadmin.db import first_message
from mailadmin.kept_widgets import ActionForm
from mailadmin.operator import NotPermitted, Operator
from mailadmin.params import parse_id
from users import addresses, passwords, services, tallies
from users.access import id_or_404
from users.forms import MAX_DOMAIN_CHOICES  # with more, the admin's forms take the domain's id
from users.models import Domain, Mailbox
from users.schema import quota_column_max

# New passwords are hashed inside the request; more than this belongs in `manage.py import`.
MAX_GENERATED = 1000
# Offered by the hash scheme filter; matched on the stored "{SCHEME}" prefix.
KNOWN_SCHEMES = ["BLF-CRYPT", "ARGON2ID", "ARGON2I", "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT",
                 "SSHA512", "SSHA256", "SSHA", "SHA512", "PLAIN-MD5", "PLAIN", "CLEAR", "CLEARTEXT"]
NO_PREFIX = "none"


class DomainFilter(QuickChoices):
    """The domains this user may see, as links while they are few.

    With hundreds of domains a sidebar of links is no help and costs more time to render
    than the whole page may take; the domain list's counts link here with ?domain=<id>.
    """

    title = "domain"
    parameter_name = "domain"
    MAX_LINKS = 30

    def lookups(self, request, model_admin):
        visible = Domain.objects.visible_to(request.user)
        # The kept count (the list's total reads it too) spares reading domains when they are too many.
        if kept_counts(request)["domains"] <= self.MAX_LINKS:
            domains = list(visible.values_list("id", "name")[: self.MAX_LINKS + 1])
            if len(domains) <= self.MAX_LINKS:
                return self.links(domains)
        chosen = parse_id(self.value())
        return self.links(visible.filter(pk=chosen).values_list("id", "name") if chosen else [])

    @staticmethod
    def links(domains):
        return [(pk, addresses.domain_to_unicode(name)) for pk, name in domains]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(domain_id=parse_id(self.value()) or 0)  # not an id: no rows
        return queryset


class HashSchemeFilter(QuickChoices):
    title = "hash scheme"
    parameter_name = "scheme"

    def lookups(self, request, model_admin):
        return [(scheme, scheme) for scheme in KNOWN_SCHEMES] + [(NO_PREFIX, "no {SCHEME} prefix")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == NO_PREFIX:
            return queryset.exclude(password__startswith="{")
        # The column's collation is case-insensitive on MariaDB, as Dovecot's scheme names are.
        return queryset.filter(password__istartswith="{" + value + "}")


# Query-string parameters of a change list that do not narrow its rows.
NOT_FILTERS = {ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, TO_FIELD_VAR}


def narrowed_by(request):
    """The query-string parameters that narrow the change list's rows (filters, a search)."""
    return {
        name for name, value in request.GET.items()
        if name not in NOT_FILTERS and not (name == SEARCH_VAR and not value.strip())
    }


def kept_counts(request, domain_id=None):
    """The write API's figures (users.tallies) for what `request.user` sees: all their domains,
    or one of them (a DomainCount row each, so no COUNT grows with the mail tables). The totals
    are read once a request: the domain filter and the list's total both ask."""
    if domain_id is not None:
        return tallies.domain_totals(request.user, pk=domain_id)
    try:
        return request.kept_totals
    except AttributeError:
        request.kept_totals = tallies.totals(request.user)
        return request.kept_totals


def kept_total_of(request, narrowed_by, figure):
    """The kept total of `figure` ("mailboxes", "aliases") for an unfiltered list or one
    filtered by domain alone; None for any other filter."""
    if not narrowed_by:
        return kept_counts(request)[figure]
    if narrowed_by == {DomainFilter.parameter_name}:
        domain_id = parse_id(request.GET[DomainFilter.parameter_name])
        return kept_counts(request, domain_id)[figure] if domain_id else 0
    return None


class ScopedAdmin(AdminInputGuards, admin.ModelAdmin):
    """Lists and choices limited to what the user administers."""

    paginator = AdminPaginator
    # Django's change list with the rows made once per column (mailadmin/templatetags/admin_rows.py),
    # printed by Jinja2 where that prints the same page (changelist_view).
    change_list_template = "admin/mailadmin/change_list.html"
    action_form = ActionForm
    # Django would COUNT(*) the whole table again for "N total" beside a filtered count, and
    # with ?_facets once more for each choice of each filter.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Django admin renders each cell in Python: 25 rows keep a list page near 30 ms at 100,000
    # mailboxes (50 rows: ~45 ms; bench/RESULTS.md). Actions still reach every matching row
    # through "Select all", and "Show all" lists up to 200.
    list_per_page = 25
    # {sort field: the whole order an index serves}: mailadmin/admin_ordering.py.
    index_orderings = {}

    def get_changelist(self, request, **kwargs):
        return IndexOrderedChangeList

    def changelist_view(self, request, extra_context=None):
        return admin_page.in_jinja_where_possible(request, super().changelist_view(request, extra_context))

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle" aria-label="Select all objects on this page for an action">'))
    def action_checkbox(self, obj):
        # The stock one renders a form widget template per row: half of a 100-row page's time
        # (and format_html, a tenth of what remains of the rows).
        # html.escape: what django.utils.html.escape does, without its check for lazy text; a
        # SafeString is what mark_safe() makes of a str, without its checks (an exception caught).
        return SafeString(
            f'<input type="checkbox" name="{admin.helpers.ACTION_CHECKBOX_NAME}" value="{html.escape(str(obj.pk))}" '
            f'class="action-select" aria-label="Select this object for an action - {html.escape(str(obj))}">'
        )

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_search_results(self, request, queryset, search_term):
        terms = prefix_search(self, request, search_term)
        if terms is None:
            return super().get_search_results(request, queryset, search_term)
        # Django's condition, made so that the paginator can keep its statements (get_paginator).
        request.admin_prefix_search = PrefixSearch(queryset, *terms)
        return request.admin_prefix_search.result, False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        known = getattr(request, "admin_search_count", None)  # set by mailadmin.admin_search
        if known is None:
            known = self.kept_total(request, narrowed_by(request))
        search = getattr(request, "admin_prefix_search", None)
        if search is not None and search.result is not queryset:
            search = None
        kept_as, kept_filtered_as = self.kept_list_keys(request, search.shape if search else None)
        return self.paginator(
            queryset, per_page, orphans, allow_empty_first_page, known_count=known, kept_as=kept_as,
            kept_filtered_as=kept_filtered_as, searched=search,
        )

    def kept_list_keys(self, request, search_shape=None):
        """(kept_as, kept_filtered_as) for the paginator, each a key or None.

        Unfiltered, the first page's SQL depends only on the list, whose it is and its order:
        kept_as. Narrowed by filters that read their value alone, the count and each page's ids
        depend on those values too: kept_filtered_as holds them. A prefix search's words are
        values the kept statements take at each request, so the key holds only the search's
        shape (`search_shape`: which columns, how many words)."""
        if IS_POPUP_VAR in request.GET:
            return None, None
        narrowed = narrowed_by(request)
        key = ("admin list", self.opts.label, kept_statements.scope_of(request.user), request.GET.get(ORDER_VAR, ""))
        if not narrowed:
            return key, None
        if narrowed <= self.filters_by_value_alone(request) | ({SEARCH_VAR} if search_shape else set()):
            filters = tuple(sorted((name, request.GET[name]) for name in narrowed - {SEARCH_VAR}))
            return None, (*key, filters, search_shape)
        return None, None

    def filters_by_value_alone(self, request):
        """The parameters of this list's filters whose SQL depends on their value alone."""
        return {
            spec.parameter_name for spec in self.get_list_filter(request)
            if isinstance(spec, type) and issubclass(spec, QuickChoices)
        }

    def kept_total(self, request, narrowed_by):
        """The list's total without counting its rows, or None: the paginator then counts up
        to its cap."""
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "domain":
            visible = Domain.objects.visible_to(request.user)
            kwargs["queryset"] = visible
            if visible[: MAX_DOMAIN_CHOICES + 1].count() > MAX_DOMAIN_CHOICES:
                # A choice of every domain is 10,000 options at a million mailboxes (1.6 s a
                # form); the id box has a lookup through the domain list, which is searched.
                kwargs["widget"] = admin.widgets.ForeignKeyRawIdWidget(db_field.remote_field, self.admin_site)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Replaced by delete_with_summary: the stock page lists every cascaded row one by one.
        actions.pop("delete_selected", None)
        return actions

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The write API refuses what the form could not know yet (a row another admin saved
        # a moment ago): its message, and the form again, instead of a 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, first_message(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request, obj):
        self.delete_through_api(Operator.for_request(request), self.model.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        self.delete_through_api(Operator.for_request(request), queryset)

    def delete_through_api(self, operator, queryset):
        raise NotImplementedError


def api_errors_on_form(form, call):
    """Run a write-API check from a form's clean(); its messages land at the form's fields."""
    try:
        return call()
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, messages_ in error.message_dict.items():
                for message in messages_:
                    form.add_error(field if field in form.fields else None, message)
        else:
            form.add_error(None, error)
    except NotPermitted as error:
        form.add_error(None, str(error))
    return None


class DomainForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ["name"]

    def clean_name(self):
        try:
            return services.normalize_domain_name(self.cleaned_data["name"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["name"])


# The joined kept counts' own domain id (Domain.kept_count), as its index holds it.
KEPT_ROW_DOMAIN_ID = RawSQL("`mailadmin_domain_count`.`domain_id`", [])


@admin.register(Domain)
class DomainAdmin(ScopedAdmin):
    list_display = ["display_name", "name", "mailbox_count", "alias_count"]
    # A count's ties by the kept row's domain id (its index's second column), not the domain's:
    # Django would name the domains' column for it, which leaves MariaDB sorting every domain.
    index_orderings = {
        "name": ["name"],
        "mailbox_count": ["mailbox_count", KEPT_ROW_DOMAIN_ID],
        "alias_count": ["alias_count", KEPT_ROW_DOMAIN_ID],
    }
    search_fields = ["^name"]
    actions = ["delete_with_summary"]
    form = DomainForm

    # Adding and deleting domains is a superadmin's, whatever Django permissions a domain
    # admin was given (the write API refuses it too).
    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def save_model(self, request, obj, form, change):
        if change:
            return  # the name is read-only: nothing else to save
        created = services.create_domain(Operator.for_request(request), obj.name)
        obj.pk = created.pk

    def delete_through_api(self, operator, queryset):
        for domain in list(queryset):
            services.delete_domain(operator, domain)

    def get_queryset(self, request):
        # The write API's kept figures, not a COUNT per domain: sorting 10,000 domains by their
        # mailboxes counted them all (88 ms at a million mailboxes). Reading the totals catches the
        # kept figures up first, in the query the list's total needs anyway.
        kept_counts(request)
        # Annotated once per scope (whose domains; the SQL depends on nothing else), kept unevaluated
        # and copied: annotate() resolving the two subqueries was 7 % of the list's instructions.
        annotated = kept_statements.kept(
            ("admin domain list", self.admin_site.name, kept_statements.scope_of(request.user)),
            lambda: super(DomainAdmin, self).get_queryset(request).annotate(
                mailbox_count=F("kept_count__mailboxes"), alias_count=F("kept_count__aliases")
            ),
        )
        return annotated.all()

    def kept_total(self, request, narrowed_by):
        return None if narrowed_by else kept_counts(request)["domains"]

    def get_readonly_fields(self, request, obj=None):
        # A rename would leave every mailbox's address and maildir behind.
        return ["name"] if obj else []

    @admin.display(description="mailboxes", ordering="mailbox_count")
    def mailbox_count(self, domain):
        return _count_link("admin:users_mailbox_changelist", domain, domain.mailbox_count)

    @admin.display(description="aliases", ordering="alias_count")
    def alias_count(self, domain):
        return _count_link("admin:aliases_alias_changelist", domain, domain.alias_count)


    @admin.action(description="Delete selected domains (with their mailboxes and aliases)")
    def delete_with_summary(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        summary = {
            "domains": len(ids),
            "mailboxes": Mailbox.objects.filter(domain_id__in=ids).count(),
            # Through the reverse relation: the users app does not import the aliases app.
            "aliases": Domain.objects.filter(pk__in=ids).aggregate(n=Count("aliases"))["n"],
        }
        # As on the panel's page: the person types what they are about to delete.
        expected = queryset.get().name if len(ids) == 1 else f"delete {len(ids)} domains"
        return confirm_delete(self, request, queryset, summary, typed_confirmation=expected)

    def delete_view(self, request, object_id, extra_context=None):
        # The stock page deletes a domain and everything in it with one click: the panel's page
        # shows what goes with it, what survives elsewhere, and wants the name typed.
        domain = get_object_or_404(self.get_queryset(request), pk=id_or_404(object_id))
        return HttpResponseRedirect(reverse("domain-delete", args=[domain.name]))


def _count_link(list_name, domain, count):
    """A link to the list of a domain's mailboxes or aliases, the count its text. Written out:
    format_html's checks of each argument were a seventh of the list's time under cProfile."""
    return SafeString(f'<a href="{_from_domain_list(list_name)}?domain={int(domain.pk)}">{int(count)}</a>')


@functools.cache
def _from_domain_list(name):
    """The URL of the list `name`, relative to the domain list's: the same under any script
    prefix, so worked out once (two reverse() calls per row were a tenth of the list's time, and
    reading the script prefix for each link still 6 % under cProfile)."""
    return html.escape(posixpath.relpath(reverse(name), reverse("admin:users_domain_changelist")) + "/")


def confirm_delete(model_admin, request, queryset, summary, notes=(), typed_confirmation=""):
    """A confirmation page with counts; deletes through the write API on the second POST
    (when `typed_confirmation` is given, only once the person typed it)."""
    if not model_admin.has_delete_permission(request):
        raise PermissionDenied
    typed = request.POST.get("typed_confirmation", "").strip().lower()
    typed_ok = not typed_confirmation or typed == typed_confirmation.lower()
    if request.POST.get("confirmed") == "yes" and typed_ok:
        try:
            model_admin.delete_queryset(request, queryset)
        except (ValidationError, NotPermitted) as error:
            model_admin.message_user(request, first_message(error) if isinstance(error, ValidationError) else str(error), messages.ERROR)
            return None
        parts = ", ".join(f"{count} {name}" for name, count in summary.items() if count)
        model_admin.message_user(request, f"Deleted {parts}.", messages.SUCCESS)
        return None
    return TemplateResponse(
        request,
        "admin/mailadmin/confirm_delete.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Are you sure?",
            "summary": summary,
            "notes": notes,
            "typed_confirmation": typed_confirmation,
            "typed_wrong": bool(typed) and not typed_ok,
            "queryset": queryset[:20],
            "action": request.POST.get("action"),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "opts": model_admin.model._meta,
        },
    )


def _vmail_root():
    from django.conf import settings

    return settings.MAILADMIN_VMAIL_ROOT


# --- Mailboxes ----------------------------------------------------------------------------


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(render_value=False))
    password2 = forms.CharField(label="Password (again)", strip=False, widget=forms.PasswordInput)

    def __init__(self, *args, mailbox=None, **kwargs):
        self.mailbox = mailbox
        super().__init__(*args, **kwargs)

    def clean(self):
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if first and second and first != second:
            raise ValidationError("The two passwords differ.")
        if first:
            try:
                services.check_new_password(first, self.mailbox)
            except ValidationError as error:
                self.add_error("password1", error)
        return self.cleaned_data


class MailboxAddForm(forms.ModelForm):
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password (again)", strip=False, widget=forms.PasswordInput)

    class Meta:
        model = Mailbox
        fields = ["domain", "email", "quota"]

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                services.check_new_password(first, self.instance)
            except ValidationError as error:
                self.add_error("password1", error.messages)
        if cleaned.get("email") and cleaned.get("domain") and "email" not in self.errors:
            # The write API's rules for a new mailbox (a name Dovecot lets log in, the quota).
            api_errors_on_form(
                self, lambda: services.new_mailbox(cleaned["email"], cleaned.get("quota") or 0, cleaned["domain"])
            )
        return cleaned

    def _post_clean(self):
        # The hash is made by the write API in save_model(); a placeholder lets model
        # validation (address rules, uniqueness) run on the other fields.
        self.instance.password = "{PLAIN}-"
        super()._post_clean()


class QuotaForm(forms.Form):
    quota = forms.CharField(help_text="Such as 500M or 2G (1024-based), or bytes; 0 = unlimited.")

    def clean_quota(self):
        try:
            return addresses.parse_quota(self.cleaned_data["quota"], max_bytes=quota_column_max())
        except addresses.AddressError as error:
            raise ValidationError(str(error))


@admin.register(Mailbox)
class MailboxAdmin(ScopedAdmin):
    list_display = ["display_email", "domain_name", "quota_display", "scheme"]
    index_orderings = {"email": ["email"], "quota": ["quota", "email"]}  # virtual_users_quota_email
    # No join: with virtual_domains joined, MariaDB 10.11 drives the query from the domains
    # and sorts all 100,000 mailboxes for one page (330 ms); the domain is in the address.
    list_select_related = False
    list_filter = [DomainFilter, HashSchemeFilter]
    # A prefix search uses the unique index on email; "contains" would scan every row.
    search_fields = ["^email"]
    search_help_text = "Address or its beginning, or a domain name for all its mailboxes."
    actions = ["set_quota", "generate_passwords", "delete_with_summary"]
    add_form = MailboxAddForm
    fields = ["domain", "email", "quota", "password_link"]
    readonly_fields = ["password_link"]

    def kept_total(self, request, narrowed_by):
        return kept_total_of(request, narrowed_by, "mailboxes")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_search_results(self, request, queryset, search_term):
        # "example.org" (or "bücher.de") lists that domain's mailboxes: the addresses never
        # start with it, and "contains" would read every row.
        term = search_term.strip()
        if term and "@" not in term and "." in term:
            try:
                name = addresses.normalize_domain(term)
            except addresses.AddressError:
                name = None
            if name and Domain.objects.filter(name=name).exists():
                return queryset.filter(domain__name=name), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request, obj, form, change):
        operator = Operator.for_request(request)
        if change:
            services.set_quota(operator, obj, obj.quota)
            return
        created = services.create_mailbox(
            operator, obj.email, form.cleaned_data["password1"], quota=obj.quota, domain=obj.domain
        )
        obj.pk = created.pk

    def delete_through_api(self, operator, queryset):
        services.delete_mailboxes(operator, queryset)

    def get_fields(self, request, obj=None):
        return ["domain", "email", "quota", "password1", "password2"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        # Renaming a mailbox would leave its mail behind in the old maildir.
        return ["domain", "email", "password_link"] if obj else []

    @admin.display(description="address", ordering="email")
    def display_email(self, mailbox):
        return mailbox.display_email

    @admin.display(description="domain")
    def domain_name(self, mailbox):
        return mailbox.display_domain

    @admin.display(description="quota", ordering="quota")
    def quota_display(self, mailbox):
        return mailbox.display_quota

    @admin.display(description="hash scheme")
    def scheme(self, mailbox):
        return mailbox.password_scheme

    @admin.display(description="password")
    def password_link(self, mailbox):
        url = reverse("admin:users_mailbox_password", args=[mailbox.pk])
        return format_html('{} · <a href="{}">Set a new password</a>', mailbox.password_scheme, url)

    def get_urls(self):
        return [
            path(
                "<int:pk>/password/",
                self.admin_site.admin_view(self.set_password_view),
                name="users_mailbox_password",
            ),
        ] + super().get_urls()

    @method_decorator(sensitive_post_parameters())
    def set_password_view(self, request, pk):
        mailbox = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, mailbox):
            raise PermissionDenied
        form = NewPasswordForm(request.POST or None, mailbox=mailbox)
        if request.method == "POST" and form.is_valid():
            services.set_password(Operator.for_request(request), mailbox, form.cleaned_data["password1"])
            self.message_user(request, f"Password changed for {mailbox.display_email}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:users_mailbox_change", args=[mailbox.pk]))
        return TemplateResponse(
            request,
            "admin/mailadmin/set_password.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Set a password for {mailbox.display_email}",
                "form": form,
                "original": mailbox,
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Set quota of selected mailboxes")
    def set_quota(self, request, queryset):
        form = QuotaForm(request.POST if "quota" in request.POST else None)
        if form.is_bound and form.is_valid():
            size = form.cleaned_data["quota"]
            changed = services.set_quotas(Operator.for_request(request), queryset, size)
            self.message_user(
                request, f"Quota is now {addresses.format_quota(size)} for {changed} more mailboxes.", messages.SUCCESS
            )
            return None
        return _action_page(self, request, queryset, "Set quota", form, "Set quota")

    @admin.action(description="Generate new passwords for selected mailboxes (CSV download)")
    def generate_passwords(self, request, queryset):
        if queryset.count() > MAX_GENERATED:
            self.message_user(
                request,
                f"Select at most {MAX_GENERATED} mailboxes at once: each new password is hashed at the configured cost.",
                messages.ERROR,
            )
            return None
        if request.POST.get("confirmed") != "yes":
            return _action_page(
                self, request, queryset, "Generate new passwords", None, "Replace their passwords",
                note="Each selected mailbox gets a new random password at once; the old ones stop working. "
                "The new passwords are offered once, as a CSV download, and are not stored anywhere.",
            )
        mailboxes = list(queryset.only("id", "email", "password", "domain_id"))
        plaintexts = [passwords.generate_password() for _ in mailboxes]
        hashes = []
        for _event in services.hash_passwords(plaintexts, hashes):
            pass
        services.replace_passwords(Operator.for_request(request), mailboxes, hashes)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="new-passwords-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        response["Cache-Control"] = "no-store"
        writer = csv.writer(response)
        writer.writerow(["email", "password"])
        writer.writerows(csv_safe.row([mailbox.email, plaintext]) for mailbox, plaintext in zip(mailboxes, plaintexts))
        return response

    @admin.action(description="Delete selected mailboxes")
    def delete_with_summary(self, request, queryset):
        return confirm_delete(self, request, queryset, {"mailboxes": queryset.count()}, self.deletion_notes(queryset))

    def deletion_notes(self, queryset):
        """What a person should know before these mailboxes go (the aliases app adds its part)."""
        return ["Mail on disk is not removed; delete the maildirs under {} yourself.".format(_vmail_root())]


def _action_page(model_admin, request, queryset, title, form, button, note=""):
    return TemplateResponse(
        request,
        "admin/mailadmin/action_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "button": button,
            "note": note,
            "count": queryset.count(),
            "queryset": queryset[:20],
            "action": request.POST.get("action"),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "opts": model_admin.model._meta,
        },
    )
