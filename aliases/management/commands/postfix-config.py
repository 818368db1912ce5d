import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aliases import server_config


class Command(BaseCommand):
    help = (
        "Print (or write with --dir) Postfix's mysql-*.cf files and Dovecot's dovecot-sql.conf.ext "
        "for the panel's database. The password is a placeholder unless given with --password-stdin."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="write the files into this directory (mode 0640) instead of printing them")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the database password the servers use from the first line of standard input",
        )

    def handle(self, *args, dir=None, password_stdin=False, **options):
        password = None
        if password_stdin:
            stdin = options.get("stdin") or __import__("sys").stdin
            password = stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("No password on standard input.")
        try:
            files = server_config.all_files(password)
        except ValueError as error:
            raise CommandError(str(error))
        if dir is None:
            for config_file in files:
                self.stdout.write(f"# ==> {config_file.path} <==\n{config_file.text}\n")
            self.stdout.write("# ==> main.cf / master.cf <==\n" + "\n".join(server_config.main_cf_lines()) + "\n")
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
