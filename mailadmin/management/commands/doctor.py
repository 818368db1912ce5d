from django.core.management.base import BaseCommand, CommandError

from mailadmin import doctor


class Command(BaseCommand):
    help = (
        "Check the live Postfix, Dovecot, database and proxy against the panel's settings: one line "
        "each, with the fix for what is wrong. Exit 0 when all is well, 1 otherwise. Run as root "
        "(Postfix's .cf files hold a password)."
    )
    requires_system_checks = []  # doctor reports them itself, as `check --deploy` does

    def add_arguments(self, parser):
        parser.add_argument("--postfix-dir", metavar="DIR", help="Postfix's config directory (postconf -c DIR)")
        parser.add_argument("--dovecot-config", metavar="FILE", help="Dovecot's config file (doveconf -c FILE)")
        parser.add_argument("--url", help="the panel's address through the proxy, e.g. https://mail.example.org/")
        parser.add_argument("--ca-file", metavar="FILE", help="trust this CA for --url (a self-signed certificate)")
        parser.add_argument(
            "--suggest-settings",
            action="store_true",
            help=f"print the {doctor.ENV_FILE} lines that match the live Postfix's delimiter and sender query, and the guide's edition",
        )

    def handle(self, *args, postfix_dir=None, dovecot_config=None, url=None, ca_file=None,
               suggest_settings=False, **options):
        server = doctor.LiveServer(postfix_dir=postfix_dir, dovecot_config=dovecot_config, url=url, ca_file=ca_file)
        if suggest_settings:
            try:
                lines = doctor.suggested_settings(server)
            except doctor.Unreadable as error:
                raise CommandError(f"{error} ({error.fix})")
            self.stdout.write(f"# From the live Postfix and Dovecot; put these into {doctor.ENV_FILE}:\n" + "\n".join(lines))
            return
        failed = 0
        for finding in doctor.run_checks(server):
            self.stdout.write(finding.line())
            failed += finding.ok is False
        if failed:
            self.stdout.write(f"{failed} problem{'s' if failed != 1 else ''} found.")
            raise SystemExit(1)
        self.stdout.write("All is well.")
