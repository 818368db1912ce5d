"""Permission matrix rows for import, export and the audit log (format: permission_rows.py).

Staff reach every page; what a domain admin sees there is limited to their domains, which
test_audit.py and test_csv_*.py check. A POST without a file is a form error (400).
"""

from mailadmin.tests.permission_rows import NOT_ALLOWED, STAFF_GET

FORM_ERROR = "302 403 400 400 400"

ROWS = [
    {"name": "bulk-import", "GET": STAFF_GET, "POST": FORM_ERROR},
    {"name": "bulk-import-apply", "GET": NOT_ALLOWED, "POST": FORM_ERROR},
    # Without ?what= the export form is incomplete.
    {"name": "bulk-export", "GET": FORM_ERROR, "POST": NOT_ALLOWED},
    {"name": "audit-log", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    {"name": "audit-export", "GET": STAFF_GET, "POST": NOT_ALLOWED},
]
