"""Permission matrix rows for the sending pages (format: mailadmin/tests/permission_rows.py)."""

from mailadmin.tests.permission_rows import IN_A, IN_B, NOT_ALLOWED, STAFF_GET

ROWS = [
    {"name": "mailbox-sending", "kwargs": {"pk": "mailbox_a"}, "GET": IN_A, "POST": NOT_ALLOWED},
    {"name": "mailbox-sending", "kwargs": {"pk": "mailbox_b"}, "GET": IN_B, "POST": NOT_ALLOWED},
    {"name": "mailbox-sending", "kwargs": {"pk": 999999}, "GET": "302 403 404 404 404", "POST": NOT_ALLOWED},
    {"name": "sending-lookup", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    # The server's configuration: superadmins only (the method is checked after the role).
    {"name": "postfix-config", "GET": "302 403 403 403 200", "POST": "302 403 403 403 405"},
]
