"""Who is changing the mail data, and through which door.

Every call into the write API (users.services, aliases.services) names an Operator. The API
decides with it what may be touched (a domain admin only their domains, whatever door and
whatever Django permissions they hold) and the audit log names it. The doors only build one:

- a page or the Django admin: `Operator.for_request(request)`;
- a management command: `Operator.command_line()` — the machine's own administrator, who can
  already read the database password in the settings, so the panel's scope does not apply;
- an import: the same, or `for_request` for one made in the browser, with `via="import"`;
- a mailbox user changing their own password: `Operator.mailbox_user(address, request)`.
"""

import getpass
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from mailadmin import audit
from mailadmin.client_address import client_address

PANEL, DJANGO_ADMIN, CLI, IMPORT, SELF_SERVICE = "panel", "django-admin", "cli", "import", "self-service"


class NotPermitted(PermissionDenied):
    """The operator may not make this change; the message says why, for every door."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


@dataclass(frozen=True)
class Operator:
    label: str
    via: str
    # A staff account, or None for the machine's own administrator and for mailbox users.
    user: Any = None
    address: str | None = None
    # The one mailbox a mailbox user may change (their own), else "".
    own_mailbox: str = ""

    @classmethod
    def for_request(cls, request, via=None):
        if via is None:
            via = DJANGO_ADMIN if request.path_info.startswith("/django-admin/") else PANEL
        user = request.user
        return cls(label=user.get_username(), via=via, user=user, address=client_address(request))

    @classmethod
    def for_user(cls, user, via=PANEL, address=None):
        """A staff account acting outside a request (a shell, a test, a job)."""
        return cls(label=user.get_username(), via=via, user=user, address=address)

    @classmethod
    def command_line(cls, via=CLI):
        ssh = os.environ.get("SSH_CLIENT", "").split()
        return cls(label=f"cli:{getpass.getuser()}", via=via, address=ssh[0] if ssh else None)

    @classmethod
    def mailbox_user(cls, email, request=None):
        return cls(
            label=email,
            via=SELF_SERVICE,
            address=client_address(request) if request is not None else None,
            own_mailbox=email,
        )

    def importing(self):
        """The same person, making their change through an import."""
        return Operator(self.label, IMPORT, self.user, self.address, self.own_mailbox)

    @property
    def is_machine_admin(self):
        return self.user is None and not self.own_mailbox

    @property
    def is_superadmin(self):
        if self.is_machine_admin:
            return True
        user = self.user
        return user is not None and user.is_active and user.is_staff and user.is_superuser

    @property
    def is_staff(self):
        if self.is_machine_admin:
            return True
        user = self.user
        return user is not None and user.is_active and user.is_staff

    def require_superadmin(self, what):
        if not self.is_superadmin:
            raise NotPermitted(f"Only a superadmin may {what}.")

    def require_staff(self):
        if not self.is_staff:
            raise NotPermitted("Only an active staff account may change mail data.")

    @contextmanager
    def acting(self):
        """Every change made inside the block is logged as this operator's."""
        with audit.acting_as(self.label, self.address, self.via):
            yield
