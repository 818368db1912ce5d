import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mailadmin import csv_io
from mailadmin.operator import Operator


class Command(BaseCommand):
    help = (
        "Import mailboxes (email,password,quota) or aliases (source,destination) from a CSV file. "
        "Every row is checked first; the file is written in one transaction, or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header line; - reads standard input")
        parser.add_argument("--dry-run", action="store_true", help="only list what each row would do")
        parser.add_argument("--quiet", action="store_true", help="list only rows with errors")

    def handle(self, file, dry_run=False, quiet=False, **options):
        data = sys.stdin.buffer.read() if file == "-" else self._read(file)
        try:
            the_plan = csv_io.plan(data, Operator.command_line(via="import"))
        except csv_io.ImportFileError as error:
            raise CommandError(str(error))
        self._show(the_plan, quiet)
        if dry_run:
            return
        if the_plan.has_errors:
            raise CommandError(f"{the_plan.count(csv_io.ERROR)} row(s) have errors; nothing was imported.")
        with the_plan.operator.acting():
            try:
                counts = csv_io.apply(the_plan, progress=self._progress)
            except csv_io.ImportFailed as error:
                raise CommandError(str(error))
        self.stdout.write(f"Imported: {counts['new']} new, {counts['changed']} changed {the_plan.kind}.")

    def _read(self, file):
        try:
            return Path(file).read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.")

    def _show(self, the_plan, quiet):
        for row in the_plan.rows:
            if quiet and row.status != csv_io.ERROR:
                continue
            detail = f"  {row.detail}" if row.detail else ""
            self.stdout.write(f"line {row.line}: {row.status:9} {row.key}{detail}")
        counts = the_plan.counts
        self.stdout.write(
            f"{the_plan.kind}: {counts['new']} new, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged, {counts['error']} with errors."
        )

    def _progress(self, stage, done, total):
        # One updating line on a terminal; a line per tenth otherwise (logs, pipes).
        if self.stderr.isatty():
            self.stderr.write(f"{stage}: {done}/{total}", ending="\r" if done < total else "\n")
            return
        tenth = done * 10 // total
        if tenth != getattr(self, "_last_tenth", None) or done == total:
            self._last_tenth = tenth
            self.stderr.write(f"{stage}: {done}/{total}")
