from django.core.management.base import BaseCommand, CommandError

from users import addresses, recovery
from users.models import Mailbox, PasswordResetToken


class Command(BaseCommand):
    help = (
        "Make a one-time password reset link for a mailbox and print it. The link works once, "
        "expires after MAILADMIN_RESET_LINK_HOURS and dies when the password changes; an earlier "
        "unused link of the mailbox stops working."
    )

    def add_arguments(self, parser):
        parser.add_argument("address", help="the mailbox, e.g. jane@example.org")
        parser.add_argument(
            "--base-url",
            default="",
            help="the panel's address as users reach it, e.g. https://mail.example.org "
            "(without it, only the path is printed)",
        )

    def handle(self, *args, address, base_url, **options):
        try:
            email = addresses.normalize_address(address)
        except addresses.AddressError as error:
            raise CommandError(str(error))
        mailbox = Mailbox.objects.filter(email=email).first()
        if mailbox is None:
            raise CommandError(f"There is no mailbox {address}.")
        token = recovery.make_link_token(mailbox, PasswordResetToken.COMMAND)
        self.stdout.write(base_url.rstrip("/") + recovery.link_path(token))
