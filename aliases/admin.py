from django.contrib import admin

from aliases.models import Alias
from users.addresses import domain_to_unicode
from users.admin import DomainFilter, ScopedAdmin, confirm_delete


class CatchAllFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("catch-all", "catch-all (@domain)"), ("address", "single address")]

    def queryset(self, request, queryset):
        if self.value() == "catch-all":
            return queryset.filter(source__startswith="@")
        if self.value() == "address":
            return queryset.exclude(source__startswith="@")
        return queryset


@admin.register(Alias)
class AliasAdmin(ScopedAdmin):
    list_display = ["source", "destination", "domain_name"]
    # No join, as for mailboxes: MariaDB would sort all 200,000 rows for one page.
    list_select_related = False
    list_filter = [DomainFilter, CatchAllFilter]
    # Prefix searches use the (source, destination) unique key and the destination index.
    search_fields = ["^source", "^destination"]
    search_help_text = "Source or destination address, or its beginning."
    actions = ["delete_with_summary"]
    show_full_result_count = False
    fields = ["domain", "source", "destination"]

    @admin.display(description="domain")
    def domain_name(self, alias):
        return domain_to_unicode(alias.source.rpartition("@")[2])

    @admin.action(description="Delete selected aliases")
    def delete_with_summary(self, request, queryset):
        return confirm_delete(self, request, queryset, {"aliases": queryset.count()})
