from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("users", "0002_mail_tables")]

    operations = [
        migrations.AddConstraint(
            model_name="domain",
            constraint=models.UniqueConstraint(fields=("name",), name="virtual_domains_name_uniq"),
        ),
    ]
