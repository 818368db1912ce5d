from django.core.management.base import CommandError

from mailadmin.operator import Operator
from mailadmin.cli import ActionCommand, confirm, validation_as_command_error
from users import addresses, services
from users.models import Domain


def get_domain(name):
    try:
        normalized = addresses.normalize_domain(name)
    except addresses.AddressError as error:
        raise CommandError(str(error))
    try:
        return Domain.objects.get(name=normalized)
    except Domain.DoesNotExist:
        raise CommandError(f"There is no domain {name}.")


class Command(ActionCommand):
    help = "Add, list and delete virtual domains (the virtual_domains table Postfix reads)."

    actions = ("add", "list", "delete")

    def add_actions(self, actions):
        add = actions.add_parser("add", help="add a domain (international names are stored as punycode)")
        add.add_argument("name")
        actions.add_parser("list", help="list domains with their mailbox and alias counts")
        delete = actions.add_parser("delete", help="delete a domain with all its mailboxes and aliases")
        delete.add_argument("name")
        delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        delete.add_argument(
            "--remove-forwarding",
            action="store_true",
            help="also remove alias rows in other domains that forward to it or have their source in it",
        )


    def handle_add(self, name, **options):
        with validation_as_command_error():
            domain = services.create_domain(Operator.command_line(), name)
        shown = domain.display_name
        suffix = f" (stored as {domain.name})" if shown != domain.name else ""
        self.stdout.write(f"Added domain {shown}{suffix}.")

    def handle_list(self, **options):
        for domain in Domain.objects.with_counts().order_by("name"):
            self.stdout.write(
                f"{domain.display_name}\t{domain.mailbox_count} mailboxes\t{domain.alias_count} aliases"
            )

    def handle_delete(self, name, **options):
        domain = get_domain(name)
        summary = services.cascade_summary(domain)
        what = (
            f"Deleting {domain.display_name} also deletes its {summary['mailboxes']} mailbox(es) and "
            f"{summary['aliases']} alias(es). Mail on disk is not removed."
        )
        self.stdout.write(what)
        if not confirm("", options, self.stdin):
            raise CommandError("Not deleted.")
        summary = services.delete_domain(
            Operator.command_line(), domain, remove_forwarding=options.get("remove_forwarding", False)
        )
        also = f" and {summary['aliases elsewhere']} alias row(s) elsewhere" if summary["aliases elsewhere"] else ""
        self.stdout.write(f"Deleted domain {domain.display_name}{also}.")
