from django.core.management.base import BaseCommand
from django.db import connection

from users import quota_usage, tallies, tally_triggers


class Command(BaseCommand):
    help = (
        "Count the kept figures (domains, mailboxes and aliases per domain, password schemes) again from the "
        "mail tables: after a dump was restored, or rows were deleted behind the panel's back while the triggers that "
        "keep them were missing (made again first). Added rows are noticed by themselves."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--usage", action="store_true",
            help="also have the database compute how full each mailbox is and each domain's usage again "
            "(quota_usage.used_ppm and mailadmin_domain_usage, kept by triggers): after usage rows were written "
            "without them, e.g. a dump restored without its triggers; rewrites every usage row",
        )  # fmt: skip

    def handle(self, **options):
        missing = tally_triggers.missing(connection)
        if missing:
            with connection.schema_editor() as editor:
                tally_triggers.create(editor)
            self.stdout.write(f"Made the triggers that keep the figures again: {', '.join(name for name, _ in missing)}.")
        tallies.recount()
        totals = tallies.totals()
        self.stdout.write(f"Counted {totals['domains']} domains, {totals['mailboxes']} mailboxes and {totals['aliases']} aliases.")
        if options["usage"]:
            rows = quota_usage.recompute()
            self.stdout.write(f"Computed how full {rows} reported mailboxes are, and each domain's usage.")
