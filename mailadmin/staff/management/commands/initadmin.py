from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from mailadmin.operator import Operator
from mailadmin.staff import services
from users.passwords import generate_password


class Command(BaseCommand):
    help = (
        "On first run, create the superadmin 'admin' with a random password and print it once. "
        "Does nothing when a superadmin exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        if get_user_model().objects.filter(is_superuser=True).exists():
            self.stdout.write("A superadmin exists already; nothing to do.")
            return
        password = generate_password()
        # Through the staff write API, so the audit log records who made the first account.
        operator = Operator.command_line()
        with transaction.atomic():
            user = services.create_staff(operator, username, password=password)
            services.set_superadmin(operator, user, True)
        self.stdout.write(
            f"Created superadmin '{username}'. Password (shown only this once, write it down): {password}"
        )
