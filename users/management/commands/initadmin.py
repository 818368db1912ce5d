from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from users.passwords import generate_password


class Command(BaseCommand):
    help = (
        "On first run, create the superadmin 'admin' with a random password and print it once. "
        "Does nothing when a superadmin exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superadmin exists already; nothing to do.")
            return
        password = generate_password()
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            f"Created superadmin '{username}'. Password (shown only this once, write it down): {password}"
        )
