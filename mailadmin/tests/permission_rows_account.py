"""Permission rows for the mailbox user's pages and the reset pages (format: permission_rows.py).

Mailbox users reach only their own page (the mailbox is the logged-in account's; no id in the
URL); staff get 403 there. The reset pages are for anyone holding a link.
"""

from mailadmin.tests.permission_rows import NOT_ALLOWED

MAILBOX_USER_ONLY = "302 200 403 403 403"
MAILBOX_USER_POST = "302 405 403 403 403"  # staff are refused before the method check

ROWS = [
    {"name": "account", "GET": MAILBOX_USER_ONLY, "POST": MAILBOX_USER_POST},
    # An empty form: jane sees her page again with the errors (200); nothing changes.
    {"name": "account-password", "GET": MAILBOX_USER_POST, "POST": MAILBOX_USER_ONLY},
    {"name": "account-recovery", "GET": MAILBOX_USER_POST, "POST": MAILBOX_USER_ONLY},
    # Forgotten passwords: open to everybody, the same answer for every address.
    {"name": "password-reset-request", "GET": "200 200 200 200 200", "POST": "200 200 200 200 200"},
    {
        "name": "password-reset-request",
        "GET": "200 200 200 200 200",
        "POST": "302 302 302 302 302",
        "data": {"address": "kim@b.example"},
    },
    {"name": "password-reset-sent", "GET": "200 200 200 200 200", "POST": "405 405 405 405 405"},
    # Without a live link in the session or the URL: the "link does not work" page.
    {"name": "password-reset-set", "GET": "200 200 200 200 200", "POST": "200 200 200 200 200"},
    {
        "name": "password-reset-confirm",
        "kwargs": {"token": "not-a-real-token"},
        "GET": "200 200 200 200 200",
        "POST": "405 405 405 405 405",
    },
    # Staff make reset links for mailboxes they administer (POST only).
    {"name": "mailbox-reset-link", "kwargs": {"pk": "mailbox_a"}, "GET": NOT_ALLOWED, "POST": "302 403 200 404 200"},
    {"name": "mailbox-reset-link", "kwargs": {"pk": "mailbox_b"}, "GET": NOT_ALLOWED, "POST": "302 403 404 200 200"},
]
