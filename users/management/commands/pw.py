import getpass
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from users import passwords


class Command(BaseCommand):
    help = (
        "Hash a password as `doveadm pw` does, or test one against a hash (-t). The password is read "
        "from standard input (or asked at the terminal), never from the command line."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "-s",
            "--scheme",
            default=None,
            help=f"scheme to hash with: {', '.join(passwords.WRITABLE_SCHEMES)} "
            "(default: MAILADMIN_PASSWORD_SCHEME)",
        )
        parser.add_argument(
            "-t",
            "--test",
            metavar="HASH",
            help="test the password against HASH: exit 0 when it matches, 1 when not",
        )

    def handle(self, *args, scheme, test, **options):
        stdin = options.get("stdin") or sys.stdin
        if test:
            return self.handle_test(test, stdin)
        scheme = (scheme or settings.MAILADMIN_PASSWORD_SCHEME).upper()
        if scheme not in passwords.WRITABLE_SCHEMES:
            raise CommandError(
                f"Cannot write {scheme} hashes; choose one of {', '.join(passwords.WRITABLE_SCHEMES)}."
            )
        password = self.read_password(stdin, confirm=True)
        self.stdout.write(
            passwords.hash_password(password, scheme, bcrypt_cost=settings.MAILADMIN_BCRYPT_COST)
        )

    def handle_test(self, stored, stdin):
        password = self.read_password(stdin, confirm=False)
        try:
            matches = passwords.verify_password(
                password, stored, default_scheme=settings.MAILADMIN_DEFAULT_PASS_SCHEME
            )
        except ValueError as error:  # UnknownScheme, MalformedHash: their messages hold no secret
            raise CommandError(str(error))
        if not matches:
            raise CommandError("The password does not match the hash.", returncode=1)
        self.stdout.write(f"{stored} (verified)")

    def read_password(self, stdin, confirm):
        if stdin.isatty():
            password = getpass.getpass("Enter password: ")
            if confirm and getpass.getpass("Retype password: ") != password:
                raise CommandError("The passwords do not match.")
        else:
            password = stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("Empty password.")
        return password
