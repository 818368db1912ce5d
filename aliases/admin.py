from django import forms
from django.contrib import admin
from django.forms.models import construct_instance

from aliases import services
from aliases.models import Alias
from mailadmin.admin_query import QuickChoices
from mailadmin.admin_search import TwoPrefixSearch
from mailadmin.operator import Operator
from users.addresses import domain_to_unicode
from users.admin import DomainFilter, MailboxAdmin, ScopedAdmin, api_errors_on_form, confirm_delete, kept_total_of
from users.models import Mailbox


class AliasForm(forms.ModelForm):
    """The Django admin's alias form, judged by the write API's rules before it is saved."""

    class Meta:
        model = Alias
        fields = ["domain", "source", "destination"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        checked = api_errors_on_form(
            self,
            lambda: services.check_new_aliases(
                cleaned["source"], [cleaned["destination"]], ignore_alias_id=self.instance.pk
            ),
        )
        if checked:
            cleaned["source"], (cleaned["destination"],) = checked
        return cleaned

    def _post_clean(self):
        # The write API sets the domain from the source and reports its own errors: only copy
        # the input onto the instance, without the model's own validation run a second time.
        construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)


class CatchAllFilter(QuickChoices):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("catch-all", "catch-all (@domain)"), ("address", "single address")]

    def queryset(self, request, queryset):
        # istartswith: MariaDB's LIKE BINARY (startswith) cannot use the (source, destination) key.
        if self.value() == "catch-all":
            return queryset.filter(source__istartswith="@")
        if self.value() == "address":
            return queryset.exclude(source__istartswith="@")
        return queryset


@admin.register(Alias)
class AliasAdmin(TwoPrefixSearch, ScopedAdmin):
    list_display = ["source", "destination", "domain_name"]
    # The (source, destination) unique key; the destination index (InnoDB adds the id to it).
    index_orderings = {"source": ["source", "destination"], "destination": ["destination", "pk"]}
    # No join, as for mailboxes: MariaDB would sort all 200,000 rows for one page.
    list_select_related = False
    list_filter = [DomainFilter, CatchAllFilter]
    # Prefix searches, run by TwoPrefixSearch as a range scan of the (source, destination)
    # unique key and one of the destination index.
    search_fields = ["^source", "^destination"]
    search_help_text = "Source or destination address, or its beginning."
    actions = ["delete_with_summary"]
    fields = ["domain", "source", "destination"]

    def kept_total(self, request, narrowed_by):
        return kept_total_of(request, narrowed_by, "aliases")

    @admin.display(description="domain")
    def domain_name(self, alias):
        return domain_to_unicode(alias.source.rpartition("@")[2])

    form = AliasForm

    def save_model(self, request, obj, form, change):
        operator = Operator.for_request(request)
        if change:
            original = Alias.objects.get(pk=obj.pk)
            services.update_alias(operator, original, obj.source, obj.destination)
            return
        (created,) = services.create_aliases(operator, obj.source, [obj.destination])
        obj.pk = created.pk

    def delete_through_api(self, operator, queryset):
        services.delete_aliases(operator, queryset)

    @admin.action(description="Delete selected aliases")
    def delete_with_summary(self, request, queryset):
        return confirm_delete(self, request, queryset, {"aliases": queryset.count()})


# The mailbox list's delete confirmation, told about the aliases that forward to the mailboxes:
# the users app registers the list, this app (which builds on it) adds what it knows.
admin.site.unregister(Mailbox)


@admin.register(Mailbox)
class MailboxWithAliasesAdmin(MailboxAdmin):
    def deletion_notes(self, queryset):
        notes = super().deletion_notes(queryset)
        emails = list(queryset.values_list("email", flat=True)[:10001])
        if len(emails) <= 10000:
            forwarding = Alias.objects.filter(destination__in=emails).count()
            if forwarding:
                notes.append(
                    f"{forwarding} aliases forward to these addresses and are kept; mail sent through them "
                    "goes to the domain's catch-all if it has one, and bounces otherwise."
                )
        return notes

