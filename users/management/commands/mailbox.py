from django.core.management.base import CommandError

from mailadmin.operator import Operator
from mailadmin.cli import ActionCommand, add_password_source, confirm, read_new_password, validation_as_command_error
from users import addresses, passwords, quota_usage, services
from users.management.commands.domain import get_domain
from users.models import Mailbox


def get_mailbox(email):
    try:
        normalized = addresses.normalize_address(email)
    except addresses.AddressError as error:
        raise CommandError(str(error))
    mailboxes = Mailbox.objects.select_related("domain")
    # MariaDB's utf8 columns find a legacy row stored in mixed case or with a trailing blank by
    # the normalised address; SQLite needs to be told the case does not matter.
    mailbox = mailboxes.filter(email=normalized).first() or mailboxes.filter(email__iexact=normalized).first()
    if mailbox is None:
        raise CommandError(f"There is no mailbox {email}.")
    return mailbox


class Command(ActionCommand):
    help = "Add, change, list and delete mailboxes (the virtual_users table Dovecot and Postfix read)."

    actions = ("add", "passwd", "quota", "list", "delete", "usage")

    def add_actions(self, actions):
        add = actions.add_parser("add", help="add a mailbox; its domain must exist")
        add.add_argument("email")
        add.add_argument("--quota", default="0", help="size such as 500M or 2G (1024-based), or bytes; 0 = unlimited")
        add_password_source(add)
        passwd = actions.add_parser("passwd", help="set a mailbox's password")
        passwd.add_argument("email")
        add_password_source(passwd)
        quota = actions.add_parser("quota", help="set a mailbox's quota")
        quota.add_argument("email")
        quota.add_argument("size", help="such as 500M or 2G (1024-based), or bytes; 0 = unlimited")
        listing = actions.add_parser("list", help="list mailboxes with quota and password scheme")
        listing.add_argument("--domain", help="only this domain's mailboxes")
        delete = actions.add_parser("delete", help="delete a mailbox (mail on disk is not removed)")
        delete.add_argument("email")
        delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        delete.add_argument(
            "--remove-forwarding", action="store_true", help="also remove the alias rows that forward to it"
        )
        usage = actions.add_parser(
            "usage",
            help="quota usage as Dovecot reported it: address, used bytes, quota bytes (0 = unlimited), "
            "percent, messages, in words; '-' where Dovecot has not reported the mailbox yet",
        )
        usage.add_argument("--domain", help="only this domain's mailboxes")
        usage.add_argument(
            "--over",
            type=int,
            metavar="PERCENT",
            help="only mailboxes at PERCENT of their quota or more; exit 1 when there is any (for monitoring)",
        )


    def _show_generated(self, email, password):
        self.stdout.write(f"Generated password for {email} (shown only this once): {password}")

    def handle_add(self, email, quota, **options):
        with validation_as_command_error():
            size = services.parse_quota(quota)
        password, generated = read_new_password(options, self.stdin, self.stderr, generate=passwords.generate_password)
        with validation_as_command_error():
            mailbox = services.create_mailbox(Operator.command_line(), email, password, quota=size)
        self.stdout.write(f"Added mailbox {mailbox.display_email} (quota {addresses.format_quota(mailbox.quota)}).")
        for warning in services.warnings_for_mailbox(mailbox.email):
            self.stderr.write(f"Warning: {warning}")
        if generated:
            self._show_generated(mailbox.display_email, password)

    def handle_passwd(self, email, **options):
        mailbox = get_mailbox(email)
        password, generated = read_new_password(options, self.stdin, self.stderr, generate=passwords.generate_password)
        with validation_as_command_error():
            services.set_password(Operator.command_line(), mailbox, password)
        self.stdout.write(f"Password changed for {mailbox.display_email}.")
        if generated:
            self._show_generated(mailbox.display_email, password)

    def handle_quota(self, email, size, **options):
        mailbox = get_mailbox(email)
        with validation_as_command_error():
            services.set_quota(Operator.command_line(), mailbox, size)
        self.stdout.write(f"Quota of {mailbox.display_email} is now {addresses.format_quota(mailbox.quota)}.")

    def handle_list(self, domain=None, **options):
        mailboxes = Mailbox.objects.order_by("email")
        if domain:
            mailboxes = mailboxes.filter(domain=get_domain(domain))
        for mailbox in mailboxes.only("email", "quota", "password").iterator(chunk_size=2000):
            self.stdout.write(
                f"{mailbox.display_email}\t{addresses.format_quota(mailbox.quota)}\t{mailbox.password_scheme}"
            )

    def handle_delete(self, email, **options):
        mailbox = get_mailbox(email)
        self.stdout.write(
            f"Deleting {mailbox.display_email} removes its row; the mail on disk ({mailbox.maildir}) is not removed."
        )
        if not confirm("", options, self.stdin):
            raise CommandError("Not deleted.")
        removed = services.delete_mailbox(
            Operator.command_line(), mailbox, remove_forwarding=options.get("remove_forwarding", False)
        )
        also = f" and {removed} alias row(s) forwarding to it" if removed else ""
        self.stdout.write(f"Deleted mailbox {mailbox.display_email}{also}.")

    def handle_usage(self, domain=None, over=None, **options):
        mailboxes = Mailbox.objects.all()
        if domain:
            mailboxes = mailboxes.filter(domain=get_domain(domain))
        if over is not None:
            if over < 1:
                raise CommandError("--over takes a percent of 1 or more.")
            mailboxes = quota_usage.over(mailboxes, over)
        found = 0
        for mailbox in quota_usage.with_usage_row(mailboxes).order_by("email").iterator(chunk_size=2000):
            usage = quota_usage.usage_of(mailbox)
            found += 1
            self.stdout.write(
                "\t".join(
                    str(value) if value is not None else "-"
                    for value in (mailbox.display_email, usage.used, usage.limit, usage.percent, usage.messages)
                )
                + f"\t{usage.summary}"
            )
        if over is not None and found:
            raise CommandError(f"{found} mailbox{'es' if found != 1 else ''} at {over} % of the quota or more.", returncode=1)
