from django.core.management.base import CommandError

from aliases import services
from aliases.models import Alias
from mailadmin.operator import Operator
from mailadmin.cli import ActionCommand, validation_as_command_error
from users import addresses
from users.management.commands.domain import get_domain


class Command(ActionCommand):
    help = "Add, list and delete aliases (the virtual_aliases table Postfix reads)."

    actions = ("add", "list", "delete")

    def add_actions(self, actions):
        add = actions.add_parser("add", help="forward SOURCE (an address, or @domain for a catch-all) to DESTINATION")
        add.add_argument("source")
        add.add_argument("destination")
        listing = actions.add_parser("list", help="list aliases")
        listing.add_argument("--domain", help="only this domain's aliases")
        delete = actions.add_parser("delete", help="delete one alias row")
        delete.add_argument("source")
        delete.add_argument("destination")


    def handle_add(self, source, destination, **options):
        with validation_as_command_error():
            (alias,) = services.create_aliases(Operator.command_line(), source, [destination])
        self.stdout.write(f"Added alias {alias}.")
        for warning in services.warnings_for(alias.source, [alias.destination]) + services.notes_for(
            alias.source, [alias.destination]
        ):
            self.stderr.write(f"Warning: {warning}")

    def handle_list(self, domain=None, **options):
        aliases = Alias.objects.order_by("source", "destination")
        if domain:
            aliases = aliases.filter(domain=get_domain(domain))
        for alias in aliases.only("source", "destination").iterator(chunk_size=2000):
            self.stdout.write(
                f"{addresses.address_to_unicode(alias.source)}\t{addresses.address_to_unicode(alias.destination)}"
            )

    def handle_delete(self, source, destination, **options):
        try:
            source = addresses.normalize_alias_source(source)
            destination = addresses.normalize_address(destination)
        except addresses.AddressError as error:
            raise CommandError(str(error))
        deleted = services.delete_aliases(
            Operator.command_line(), Alias.objects.filter(source=source, destination=destination)
        )
        if not deleted:
            raise CommandError(f"There is no alias {source} -> {destination}.")
        self.stdout.write(f"Deleted alias {source} → {destination}.")
