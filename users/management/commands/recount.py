from django.core.management.base import BaseCommand

from users import tallies


class Command(BaseCommand):
    help = (
        "Count the kept figures (mailboxes and aliases per domain, password schemes) again from the "
        "mail tables: after rows were deleted behind the panel's back. Added rows are noticed by themselves."
    )

    def handle(self, **options):
        tallies.recount()
        totals = tallies.totals()
        self.stdout.write(f"Counted {totals['mailboxes']} mailboxes and {totals['aliases']} aliases.")
