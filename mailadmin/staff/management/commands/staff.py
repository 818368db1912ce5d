from django.core.management.base import CommandError

from mailadmin.cli import ActionCommand, add_password_source, confirm, read_new_password, validation_as_command_error
from mailadmin.operator import Operator
from mailadmin.staff import services, twofactor
from users.models import DomainAdminGrant
from users.passwords import generate_password


def get_account(username):
    account = services.get_staff(username)
    if account is None:
        raise CommandError(f"There is no staff account {username}.")
    return account


class Command(ActionCommand):
    help = "Staff accounts of the panel: add, list, grant and revoke domains, deactivate, delete, reset a lost second factor."

    actions = ("add", "list", "grant", "revoke", "deactivate", "activate", "delete", "link", "2fa-reset")

    def add_actions(self, actions):
        add = actions.add_parser("add", help="add a staff account (a domain admin; --superadmin for a superadmin)")
        add.add_argument("username")
        add.add_argument("--email", default="")
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument("--superadmin", action="store_true", help="may do everything, every domain")
        add.add_argument(
            "--link", action="store_true", help="no password now: print a one-time link (path) to choose one"
        )
        add_password_source(add)
        actions.add_parser("list", help="list staff accounts with their role, domains and second factor")
        for name, text in (("grant", "let an account administer a domain"), ("revoke", "take a domain away")):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("username")
            sub.add_argument("domain")
        actions.add_parser("deactivate", help="refuse the account's logins and end its sessions").add_argument("username")
        actions.add_parser("activate", help="let a deactivated account log in again").add_argument("username")
        delete = actions.add_parser("delete", help="delete the account with its grants and second factor")
        delete.add_argument("username")
        delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        actions.add_parser("link", help="print a new one-time link (path) to set the account's password").add_argument(
            "username"
        )
        actions.add_parser(
            "2fa-reset", help="remove a lost second factor: the account logs in with its password and enrols again"
        ).add_argument("username")

    def handle(self, *args, action, **options):
        # The machine's own administrator (mailadmin.operator); "2fa-reset" is handle_2fa_reset.
        self.operator = Operator.command_line()
        super().handle(*args, action=action.replace("-", "_"), **options)

    def handle_add(self, username, email, first_name, last_name, superadmin, link, **options):
        password, generated = (None, False) if link else read_new_password(options, self.stdin, self.stderr, generate=generate_password)
        with validation_as_command_error():
            account = services.create_staff(self.operator, 
                username, email=email, first_name=first_name, last_name=last_name, password=password
            )
            if superadmin:
                services.set_superadmin(self.operator, account, True)
        role = "superadmin" if superadmin else "staff account"
        self.stdout.write(f"Added {role} {account.get_username()}.")
        if generated:
            self.stdout.write(f"Password (shown once): {password}")
        if link:
            self.stdout.write(f"One-time link to set the password: {services.password_link_path(account)}")

    def handle_list(self, **options):
        enrolled = set(
            twofactor.TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True)
        )
        grants = {}
        for user_id, name in DomainAdminGrant.objects.order_by("domain__name").values_list("user_id", "domain__name"):
            grants.setdefault(user_id, []).append(name)
        for account in services.staff_accounts().order_by("username"):
            role = "superadmin" if account.is_superuser else "domain admin"
            status = "active" if account.is_active else "deactivated"
            factor = "2fa on" if account.pk in enrolled else "2fa off"
            domains = ",".join(grants.get(account.pk, [])) or "-"
            self.stdout.write(f"{account.get_username()}\t{role}\t{status}\t{factor}\t{domains}")

    def handle_grant(self, username, domain, **options):
        account = get_account(username)
        with validation_as_command_error():
            grant = services.grant_domain(self.operator, account, services.find_domain(domain))
        self.stdout.write(f"{account.get_username()} now administers {grant.domain.display_name}.")

    def handle_revoke(self, username, domain, **options):
        account = get_account(username)
        with validation_as_command_error():
            found = services.find_domain(domain)
        grant = DomainAdminGrant.objects.filter(user=account, domain=found).first()
        if grant is None:
            raise CommandError(f"{account.get_username()} does not administer {found.display_name}.")
        services.revoke_domain(self.operator, grant)
        self.stdout.write(f"{account.get_username()} no longer administers {found.display_name}.")

    def handle_deactivate(self, username, **options):
        account = get_account(username)
        with validation_as_command_error():
            services.set_active(self.operator, account, False)
        self.stdout.write(f"Deactivated {account.get_username()}; their sessions have ended.")

    def handle_activate(self, username, **options):
        account = get_account(username)
        services.set_active(self.operator, account, True)
        self.stdout.write(f"Activated {account.get_username()}.")

    def handle_delete(self, username, **options):
        account = get_account(username)
        if not confirm(f"Deleting staff account {account.get_username()}.", options, self.stdin):
            raise CommandError("Not deleted.")
        with validation_as_command_error():
            services.delete_staff(self.operator, account)
        self.stdout.write(f"Deleted staff account {account.get_username()}.")

    def handle_link(self, username, **options):
        account = get_account(username)
        self.stdout.write(services.password_link_path(account))

    def handle_2fa_reset(self, username, **options):
        account = get_account(username)
        if not services.remove_second_factor(self.operator, account):
            raise CommandError(f"{account.get_username()} has no second factor.")
        self.stdout.write(
            f"Removed {account.get_username()}'s second factor. They log in with their password and set up a new one."
        )
