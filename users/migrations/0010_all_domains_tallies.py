"""The kept figures gain rows for all domains together (domain id 0, users.tallies.ALL_DOMAINS):
added up here from the per-domain rows an installation already keeps."""

from django.db import migrations
from django.db.models import Sum

ALL_DOMAINS = 0


def add_all_domains_rows(apps, schema_editor):
    DomainCount = apps.get_model("users", "DomainCount")
    SchemeCount = apps.get_model("users", "SchemeCount")
    per_domain = DomainCount.objects.exclude(domain_id=ALL_DOMAINS)
    if per_domain.exists():
        sums = per_domain.aggregate(mailboxes=Sum("mailboxes"), aliases=Sum("aliases"))
        DomainCount.objects.update_or_create(
            domain_id=ALL_DOMAINS, defaults={"mailboxes": sums["mailboxes"] or 0, "aliases": sums["aliases"] or 0}
        )
    schemes = SchemeCount.objects.exclude(domain_id=ALL_DOMAINS).values("scheme").annotate(n=Sum("mailboxes")).order_by()
    for row in schemes:
        SchemeCount.objects.update_or_create(domain_id=ALL_DOMAINS, scheme=row["scheme"], defaults={"mailboxes": row["n"]})


def remove_all_domains_rows(apps, schema_editor):
    apps.get_model("users", "DomainCount").objects.filter(domain_id=ALL_DOMAINS).delete()
    apps.get_model("users", "SchemeCount").objects.filter(domain_id=ALL_DOMAINS).delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0009_quota_usage_used_ppm")]

    operations = [migrations.RunPython(add_all_domains_rows, remove_all_domains_rows)]
