"""What the command-line tools share: reading a password safely, confirming, one-line errors."""

import getpass
import sys
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from mailadmin.db import first_message


def add_password_source(parser):
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts)",
    )
    source.add_argument(
        "--generate",
        action="store_true",
        help="generate a strong random password and print it once",
    )


def read_new_password(options, stdin=None, stdout=None):
    """The new password from stdin, generated, or typed twice at a prompt.

    Returns (password, generated): a generated password must be shown to the admin once.
    """
    from users.passwords import generate_password

    stdin = stdin or sys.stdin
    if options.get("generate"):
        return generate_password(), True
    if options.get("password_stdin"):
        line = stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CommandError("No password on standard input.")
        return password, False
    if not stdin.isatty():
        raise CommandError("No terminal to ask for a password: use --password-stdin or --generate.")
    for _ in range(3):
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if first != second:
            (stdout or sys.stderr).write("The passwords do not match. Try again.\n")
            continue
        if not first:
            (stdout or sys.stderr).write("The password is empty. Try again.\n")
            continue
        return first, False
    raise CommandError("Gave up after three attempts.")


def confirm(question, options, stdin=None):
    """True when --yes was given or the admin types 'yes'; never waits without a terminal."""
    stdin = stdin or sys.stdin
    if options.get("yes"):
        return True
    if not stdin.isatty():
        raise CommandError("Refusing to delete without confirmation: add --yes.")
    return input(f"{question} Type 'yes' to continue: ").strip().lower() == "yes"


@contextmanager
def validation_as_command_error():
    """A ValidationError becomes one clear line and a non-zero exit."""
    try:
        yield
    except ValidationError as error:
        raise CommandError(first_message(error))


class ActionCommand(BaseCommand):
    """`manage.py NAME ACTION …`: each action has a sub-parser and a `handle_<action>` method."""

    stealth_options = ("stdin",)
    actions = ()

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="action", required=True, metavar="{%s}" % ",".join(self.actions))
        self.add_actions(subparsers)

    def add_actions(self, subparsers):
        raise NotImplementedError

    def handle(self, *args, action, **options):
        self.stdin = options.get("stdin") or sys.stdin
        getattr(self, f"handle_{action}")(**options)
