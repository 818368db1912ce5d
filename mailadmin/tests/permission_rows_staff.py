"""Permission rows for the staff accounts pages, the second factor and re-authentication
(format: permission_rows.py).

Staff accounts are a superadmin's business. Every staff member has their own security page.
The matrix's actors have no second factor and have just logged in with their password, which
counts as a recent authentication (mailadmin/staff/tests/test_reauth.py shows the pages that
then ask again). A staff account in the middle of an obliged enrolment is walked over every
row by mailadmin/staff/tests/test_enrolment_gate.py: it may reach ENROLLING_REACHES only.
"""

from mailadmin.tests.permission_rows import NOT_ALLOWED, STAFF_GET, SUPERADMIN

SUPERADMIN_POST_ONLY = "302 403 403 403 405"
SUPERADMIN_REDIRECTED = "302 403 403 403 302"
EVERYBODY_REDIRECTED = "302 302 302 302 302"

ROWS = [
    {"name": "staff-list", "GET": SUPERADMIN, "POST": SUPERADMIN_POST_ONLY},
    {"name": "staff-create", "GET": SUPERADMIN, "POST": SUPERADMIN},
    {
        "name": "staff-create",
        "GET": SUPERADMIN,
        "POST": SUPERADMIN,  # the one-time link is shown on the POST's own page
        "data": {"username": "erin", "password_mode": "link"},
    },
    {"name": "staff-detail", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN, "POST": SUPERADMIN_REDIRECTED},
    {"name": "staff-detail", "kwargs": {"pk": 999999}, "GET": "302 403 403 403 404", "POST": "302 403 403 403 404"},
    # An empty domain is a form error on the account's page.
    {"name": "staff-grant", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN_POST_ONLY, "POST": SUPERADMIN},
    {
        "name": "staff-grant",
        "kwargs": {"pk": "staff_bob"},
        "GET": SUPERADMIN_POST_ONLY,
        "POST": SUPERADMIN_REDIRECTED,
        "data": {"domain": "b.example"},
    },
    {
        "name": "staff-revoke",
        "kwargs": {"pk": "staff_bob", "grant_pk": "grant_a"},
        "GET": SUPERADMIN_POST_ONLY,
        "POST": SUPERADMIN_REDIRECTED,
    },
    # carol's grant is not bob's.
    {
        "name": "staff-revoke",
        "kwargs": {"pk": "staff_bob", "grant_pk": "grant_b"},
        "GET": SUPERADMIN_POST_ONLY,
        "POST": "302 403 403 403 404",
    },
    {"name": "staff-superadmin", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN, "POST": SUPERADMIN_REDIRECTED},
    # Taking the right away needs no confirmation (alice is the last superadmin: refused, back to her page).
    {"name": "staff-superadmin", "kwargs": {"pk": "staff_alice"}, "GET": SUPERADMIN, "POST": SUPERADMIN_REDIRECTED},
    {"name": "staff-deactivate", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN_POST_ONLY, "POST": SUPERADMIN_REDIRECTED},
    {"name": "staff-activate", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN_POST_ONLY, "POST": SUPERADMIN_REDIRECTED},
    {"name": "staff-delete", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN, "POST": SUPERADMIN_REDIRECTED},
    {"name": "staff-password-link", "kwargs": {"pk": "staff_bob"}, "GET": SUPERADMIN_POST_ONLY, "POST": SUPERADMIN},
    # Anyone holding a link; a wrong one shows "this link does not work".
    {
        "name": "staff-set-password",
        "kwargs": {"uidb64": "MQ", "token": "not-a-token"},
        "GET": "200 200 200 200 200",
        "POST": "200 200 200 200 200",
    },
    # The former "Domain admins" page sends everybody to the staff list (which then decides).
    {"name": "domain-admins", "GET": EVERYBODY_REDIRECTED, "POST": EVERYBODY_REDIRECTED},
    # The login's code step: staff without a second factor have nothing to enter and move on.
    {"name": "login-code", "GET": "302 403 302 302 302", "POST": "302 403 302 302 302"},
    {"name": "my-security", "GET": STAFF_GET, "POST": NOT_ALLOWED},
    {"name": "security-enrol", "GET": STAFF_GET, "POST": STAFF_GET},  # an empty code: the form again
    {"name": "security-recovery-codes", "GET": NOT_ALLOWED, "POST": "302 403 302 302 302"},
    {"name": "security-disable", "GET": NOT_ALLOWED, "POST": "302 403 302 302 302"},
    {"name": "security-reauth", "GET": STAFF_GET, "POST": STAFF_GET},
]

# What a staff account that must enrol (and has not) reaches: everything else redirects to enrolment.
ENROLLING_REACHES = {
    ("security-enrol", "GET"): 200,
    ("security-enrol", "POST"): 200,
    ("logout", "POST"): 302,
    ("logout", "GET"): 405,
}
