"""The number of domains, kept with the other figures (users.tallies): the dashboard, the domain
list and the Django admin's domain list read it instead of counting virtual_domains (1 ms at
10,000 domains, growing with them). No data step: virtual_domains has no kept high-water mark
yet, so the first page that reads the figures counts everything again (tallies.ensure_counted)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("users", "0012_password_scheme_index")]

    operations = [
        migrations.AddField(model_name="domaincount", name="domains", field=models.IntegerField(default=0)),
    ]
