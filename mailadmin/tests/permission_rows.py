"""Rows of the permission matrix (mailadmin/tests/test_permissions.py) for the staff pages.

Every named URL of the panel needs at least one row, or the matrix test fails. A feature adds
its rows in its own module `<app>/tests/permission_rows_<feature>.py` holding a list `ROWS`;
the matrix reads this module and every module matching that pattern.

A row is a dict:

    {
        "name": "mailbox-detail",          # the URL name (with namespace, "admin:index")
        "kwargs": {"pk": "mailbox_a"},     # URL arguments; a value that is a WORLD key below
                                           # is replaced by that object's value, others are literal
        "GET": "302 403 200 404 200",      # expected status per actor, in ACTORS order:
        "POST": "302 403 405 405 405",     #   anonymous, jane, bob, carol, alice
        "data": {"quota": "1G"},           # optional: the POST body (default: empty)
        "query": {"alias": "alias_b"},     # optional: a query string (WORLD keys replaced too)
    }

One URL may have several rows (an object in each domain, an empty and a valid POST).
Each cell runs on its own and is rolled back, so a POST that deletes does not affect the next.
CSRF is not enforced by the test client; that Django's middleware does it is not re-tested here.

The actors (created by the matrix test, cheap: no password hashing):
- anonymous: not logged in
- jane: mailbox user jane@a.example (a non-staff Django user named by the address)
- bob: staff, domain admin of a.example
- carol: staff, domain admin of b.example
- alice: superadmin

WORLD keys (objects every cell finds in the database):
- domain_a, domain_b: "a.example", "b.example" (URL value: the name)
- mailbox_a: jane@a.example, mailbox_b: kim@b.example (URL value: the id)
- alias_a: info@a.example -> jane@a.example, alias_b: info@b.example -> kim@b.example (id)
- grant_a: bob administers a.example, grant_b: carol administers b.example (id)
- staff_bob, staff_alice: the staff accounts bob and alice (id)
"""

from aliases.forms import fingerprint

ACTORS = ("anonymous", "jane", "bob", "carol", "alice")

# Shorthands for the common shapes.
STAFF_GET = "302 403 200 200 200"
SUPERADMIN = "302 403 403 403 200"
IN_A = "302 403 200 404 200"  # an object in a.example
IN_B = "302 403 404 200 200"  # an object in b.example
NOT_ALLOWED = "302 403 405 405 405"  # staff reach it, but not with this method

ROWS = [
    # Project-level pages.
    {"name": "home", "GET": "302 302 302 302 302", "POST": "302 302 302 302 302"},
    {"name": "login", "GET": "200 302 302 302 302", "POST": "200 302 302 302 302"},
    {"name": "logout", "GET": "405 405 405 405 405", "POST": "302 302 302 302 302"},
    # The Django admin is one entry: its own login guards every page below /django-admin/.
    {"name": "admin:index", "GET": "302 302 200 200 200", "POST": "302 302 200 200 200"},
    # Dashboard and lists.
    {"name": "dashboard", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    {"name": "domain-list", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    {"name": "mailbox-list", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    {"name": "alias-list", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    # Domains: only superadmins create and delete them.
    {"name": "domain-create", "GET": SUPERADMIN, "POST": SUPERADMIN},
    {
        "name": "domain-create",
        "GET": SUPERADMIN,
        "POST": "302 403 403 403 302",
        "data": {"name": "new.example"},
    },
    {"name": "domain-detail", "kwargs": {"name": "domain_a"}, "GET": IN_A, "POST": NOT_ALLOWED},
    {"name": "domain-detail", "kwargs": {"name": "domain_b"}, "GET": IN_B, "POST": NOT_ALLOWED},
    {"name": "domain-detail", "kwargs": {"name": "c.example"}, "GET": "302 403 404 404 404", "POST": NOT_ALLOWED},
    {"name": "domain-delete", "kwargs": {"name": "domain_a"}, "GET": SUPERADMIN, "POST": SUPERADMIN},
    {
        "name": "domain-delete",
        "kwargs": {"name": "domain_b"},
        "GET": SUPERADMIN,
        "POST": "302 403 403 403 302",
        "data": {"confirm_name": "b.example"},
    },
    # Mailboxes.
    {"name": "mailbox-create", "GET": STAFF_GET, "POST": STAFF_GET},
    {
        "name": "mailbox-create",
        "GET": STAFF_GET,
        # carol's form offers only b.example: a.example is "not a valid choice" (200, form error).
        "POST": "302 403 302 200 302",
        "data": {
            "local_part": "new",
            "domain": "a.example",
            "quota": "0",
            "password_mode": "type",
            "password1": "Matrix-typed-Passw0rd",
            "password2": "Matrix-typed-Passw0rd",
        },
    },
    {"name": "mailbox-detail", "kwargs": {"pk": "mailbox_a"}, "GET": IN_A, "POST": NOT_ALLOWED},
    {"name": "mailbox-detail", "kwargs": {"pk": "mailbox_b"}, "GET": IN_B, "POST": NOT_ALLOWED},
    {"name": "mailbox-detail", "kwargs": {"pk": 999999}, "GET": "302 403 404 404 404", "POST": NOT_ALLOWED},
    {"name": "mailbox-quota", "kwargs": {"pk": "mailbox_a"}, "GET": NOT_ALLOWED, "POST": IN_A},
    {
        "name": "mailbox-quota",
        "kwargs": {"pk": "mailbox_b"},
        "GET": NOT_ALLOWED,
        "POST": "302 403 404 302 302",
        "data": {"quota": "1G"},
    },
    {"name": "mailbox-password", "kwargs": {"pk": "mailbox_a"}, "GET": IN_A, "POST": IN_A},
    {
        "name": "mailbox-password",
        "kwargs": {"pk": "mailbox_b"},
        "GET": IN_B,
        "POST": IN_B,  # the generated password is shown on the POST's own page: 200
        "data": {"password_mode": "generate"},
    },
    {"name": "mailbox-delete", "kwargs": {"pk": "mailbox_a"}, "GET": IN_A, "POST": "302 403 302 404 302"},
    {"name": "mailbox-delete", "kwargs": {"pk": "mailbox_b"}, "GET": IN_B, "POST": "302 403 404 302 302"},
    # Aliases.
    {"name": "alias-create", "GET": STAFF_GET, "POST": STAFF_GET},
    {
        "name": "alias-create",
        "GET": STAFF_GET,
        # Outside your domains the source is a form error (200), not a new row.
        "POST": "302 403 200 302 302",
        # Confirmed: the preview said kim@b.example may now send as sales@b.example.
        "data": {
            "source": "sales@b.example",
            "destinations": "kim@b.example",
            "confirmed": fingerprint("sales@b.example", ["kim@b.example"]),
        },
    },
    {"name": "alias-edit", "kwargs": {"pk": "alias_a"}, "GET": IN_A, "POST": IN_A},
    {"name": "alias-edit", "kwargs": {"pk": "alias_b"}, "GET": IN_B, "POST": IN_B},
    {
        "name": "alias-edit",
        "kwargs": {"pk": "alias_a"},
        "GET": IN_A,
        "POST": "302 403 302 404 302",
        # Confirmed: the preview said jane@a.example loses info@a.example.
        "data": {
            "source": "info@a.example",
            "destination": "someone@elsewhere.example",
            "confirmed": fingerprint("info@a.example", ["someone@elsewhere.example"]),
        },
    },
    # The live preview: read-only, and only for the admin's own domains (a 204 for another's source).
    {"name": "alias-preview", "GET": "302 403 204 204 204", "POST": NOT_ALLOWED},
    {
        "name": "alias-preview",
        "query": {"source": "sales@b.example", "destinations": "kim@b.example"},
        "GET": "302 403 204 200 200",
        "POST": NOT_ALLOWED,
    },
    {
        "name": "alias-preview",
        "query": {"alias": "alias_b", "source": "info@b.example", "destination": "kim@b.example"},
        "GET": IN_B,
        "POST": NOT_ALLOWED,
    },
    {"name": "alias-delete", "kwargs": {"pk": "alias_a"}, "GET": IN_A, "POST": "302 403 302 404 302"},
    {"name": "alias-delete", "kwargs": {"pk": "alias_b"}, "GET": IN_B, "POST": "302 403 404 302 302"},
]
