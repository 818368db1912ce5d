"""The four doors into the mail tables, each driven the way a person uses it.

Every door answers the same three requests — add a domain, add a mailbox, add an alias — with
an Outcome: done, or refused with the message the person saw. A 500 is never an outcome: the
door raises instead, and the test fails.
"""

import io
import re
from dataclasses import dataclass
from html import unescape

from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from mailadmin import csv_io
from mailadmin.operator import IMPORT, Operator
from users.models import Domain

WEB, CLI, IMPORT_DOOR, DJANGO_ADMIN = "web", "cli", "import", "django-admin"
ALL = (WEB, CLI, IMPORT_DOOR, DJANGO_ADMIN)


@dataclass
class Outcome:
    done: bool
    message: str = ""


def _page_errors(response):
    text = unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return " ".join(text.split())


def _answer(response):
    assert response.status_code < 500, response.content[:3000]
    if response.status_code == 302:
        return Outcome(True)
    return Outcome(False, f"{response.status_code} {_page_errors(response)}")


class WebDoor:
    """The panel's own pages."""

    name = WEB

    def __init__(self, client):
        self.client = client

    def _as(self, actor):
        self.client.force_login(actor)

    def add_domain(self, actor, name):
        self._as(actor)
        return _answer(self.client.post(reverse("domain-create"), {"name": name}))

    def add_mailbox(self, actor, email, password, quota="0"):
        self._as(actor)
        local, _, domain = email.rpartition("@")
        # The domain is picked from a list of the stored (lowercase) names.
        domain = domain.lower()
        form = {
            "local_part": local,
            "domain": domain,
            "quota": quota,
            "password_mode": "type",
            "password1": password,
            "password2": password,
        }
        return _answer(self.client.post(reverse("mailbox-create"), form))

    def add_alias(self, actor, source, destination):
        self._as(actor)
        form = {"source": source, "destinations": destination}
        response = self.client.post(reverse("alias-create"), form)
        confirm = re.search(rb'name="confirmed" value="([0-9a-f]+)"', response.content)
        if response.status_code == 200 and confirm:
            # The person read the warning and confirmed it.
            response = self.client.post(reverse("alias-create"), {**form, "confirmed": confirm.group(1).decode()})
        return _answer(response)


class CommandLineDoor:
    """`manage.py domain|mailbox|alias add`, run by the machine's administrator."""

    name = CLI

    def _run(self, *args, stdin=""):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        except CommandError as error:
            return Outcome(False, str(error))
        return Outcome(True, out.getvalue() + err.getvalue())

    def add_domain(self, actor, name):
        return self._run("domain", "add", name)

    def add_mailbox(self, actor, email, password, quota="0"):
        return self._run("mailbox", "add", email, "--quota", quota, "--password-stdin", stdin=password + "\n")

    def add_alias(self, actor, source, destination):
        return self._run("alias", "add", source, destination)


class ImportDoor:
    """A CSV file, dry run then apply, as `actor` (None: the command line's import)."""

    name = IMPORT_DOOR

    def _import(self, actor, text):
        operator = Operator.command_line(via=IMPORT) if actor is None else Operator.for_user(actor, via=IMPORT)
        the_plan = csv_io.plan(text, operator)
        if the_plan.has_errors:
            return Outcome(False, " ".join(row.detail for row in the_plan.rows if row.status == csv_io.ERROR))
        with operator.acting():
            csv_io.apply(the_plan)
        return Outcome(True, " ".join(row.detail for row in the_plan.rows))

    def add_mailbox(self, actor, email, password, quota="0"):
        return self._import(actor, f"email,password,quota\n{email},{password},{quota}\n")

    def add_alias(self, actor, source, destination):
        return self._import(actor, f"source,destination\n{source},{destination}\n")

    def add_domain(self, actor, name):
        raise NotImplementedError("imports hold mailboxes and aliases only")


class DjangoAdminDoor:
    """/django-admin/'s add forms."""

    name = DJANGO_ADMIN

    def __init__(self, client):
        self.client = client

    def _as(self, actor):
        self.client.force_login(actor)

    def add_domain(self, actor, name):
        self._as(actor)
        return _answer(self.client.post(reverse("admin:users_domain_add"), {"name": name}))

    def add_mailbox(self, actor, email, password, quota="0"):
        self._as(actor)
        domain = Domain.objects.filter(name=email.rpartition("@")[2].lower()).first()
        form = {
            "domain": domain.pk if domain else "",
            "email": email,
            "quota": quota,
            "password1": password,
            "password2": password,
        }
        return _answer(self.client.post(reverse("admin:users_mailbox_add"), form))

    def add_alias(self, actor, source, destination):
        self._as(actor)
        domain = Domain.objects.filter(name=source.rpartition("@")[2].lower()).first()
        form = {"domain": domain.pk if domain else "", "source": source, "destination": destination}
        return _answer(self.client.post(reverse("admin:aliases_alias_add"), form))


def door(name, client):
    return {
        WEB: lambda: WebDoor(client),
        CLI: CommandLineDoor,
        IMPORT_DOOR: ImportDoor,
        DJANGO_ADMIN: lambda: DjangoAdminDoor(client),
    }[name]()
