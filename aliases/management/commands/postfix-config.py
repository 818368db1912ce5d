import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aliases import server_config
from aliases.guides import GUIDES, guide_named


class Command(BaseCommand):
    help = (
        "Print (or write with --dir) Postfix's table files and Dovecot's SQL configuration for the "
        "panel's database, in the syntax of the guide's edition (MAILADMIN_GUIDE): mysql-*.cf and "
        "dovecot-sql.conf.ext on Bookworm, mariadb-*.cf and conf.d/99-ispmail-sql.conf on Trixie. "
        "The servers read with the read-only account; its password is a placeholder unless given "
        "with --password-stdin."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="write the files into this directory (mode 0640) instead of printing them")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password of the servers' database account from the first line of standard input",
        )
        parser.add_argument(
            "--db-user",
            help="the read-only database account Postfix and Dovecot use "
            f"(default: MAILADMIN_SERVER_DB_USER, now {settings.MAILADMIN_SERVER_DB_USER!r})",
        )
        parser.add_argument(
            "--guide",
            choices=sorted(GUIDES),
            help=f"the guide's edition (default: MAILADMIN_GUIDE, now {settings.MAILADMIN_GUIDE!r})",
        )

    def handle(self, *args, dir=None, password_stdin=False, db_user=None, guide=None, **options):
        password = None
        if password_stdin:
            stdin = options.get("stdin") or sys.stdin
            password = stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.")
        try:
            edition = guide_named(guide) if guide else server_config.current_guide()
            target = server_config.database_target(user=db_user)
            files = server_config.all_files(password, target, edition)
        except ValueError as error:
            raise CommandError(str(error))
        if dir is None:
            for config_file in files:
                self.stdout.write(f"# ==> {config_file.path} <==\n{config_file.text}\n")
            lines = "\n".join(server_config.main_cf_lines(edition))
            self.stdout.write(f"# ==> main.cf / master.cf <==\n{lines}\n")
            return
        directory = Path(dir)
        directory.mkdir(parents=True, exist_ok=True)
        for config_file in files:
            path = directory / config_file.name
            # The files may hold a password: created 0640, never world-readable.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            with os.fdopen(fd, "w") as handle:
                handle.write(config_file.text)
            os.chmod(path, 0o640)
            self.stdout.write(f"Wrote {path}")
