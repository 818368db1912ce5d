"""Each finding of issue 10, as the request that used to break the panel.

test_hostile_input.py searches for such requests; these pin the ones found, so each fix stays
fixed even when the search draws other values. Run them on MariaDB as well: several of them
only ever failed there (utf8mb3 columns, strict mode).
"""

import csv
import io
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.views.defaults import server_error

from aliases.models import Alias
from mailadmin import csv_io, csv_safe
from mailadmin.operator import Operator
from mailadmin.params import parse_id
from users import addresses
from users.models import Mailbox, RecoveryAddress

AS_ROOT = Operator.command_line(via="import")
ASTRAL = "𝔲𝔫𝔦😀"
HUGE = "9" * 40


def logged_in(user):
    client = Client()
    client.force_login(user, backend="mailadmin.staff.backends.StaffBackend")
    return client


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def upload(text):
    file = io.BytesIO(text.encode("utf-8"))
    file.name = "import.csv"
    return file


# --- Numbers too large ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [HUGE, "1" + "0" * 400 + ".5G", "99999999999999999999T", "9" * 21 + ".5"])
def test_a_quota_too_large_for_any_column_is_a_clear_error(text):
    with pytest.raises(addresses.AddressError, match="quota column"):
        addresses.parse_quota(text)


def test_a_huge_quota_on_the_quota_form_is_a_form_error(alice, jane_mailbox):
    response = logged_in(alice).post(reverse("mailbox-quota", kwargs={"pk": jane_mailbox.pk}), {"quota": "1" + "0" * 400 + ".5G"})
    assert response.status_code in (200, 302)
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.quota == 0


def test_a_huge_quota_in_an_import_is_an_error_row(domain_a):
    the_plan = csv_io.plan(f"email,password,quota\nnew@a.example,Strong-Import-Passw0rd,{'1' + '0' * 400}.5G\n", AS_ROOT)
    assert [row.status for row in the_plan.rows] == [csv_io.ERROR]


def test_a_huge_quota_in_the_admins_bulk_action_is_a_form_error(alice, jane_mailbox):
    response = logged_in(alice).post(
        reverse("admin:users_mailbox_changelist"),
        {"action": "set_quota", "_selected_action": [jane_mailbox.pk], "index": "0", "quota": "1" + "0" * 400 + ".5G"},
    )
    assert response.status_code == 200
    jane_mailbox.refresh_from_db()
    assert jane_mailbox.quota == 0


# --- Characters outside the BMP against utf8mb3 columns --------------------------------------


def test_an_astral_domain_in_the_url_is_a_404(alice, domain_a):
    client = logged_in(alice)
    assert client.get(reverse("domain-detail", kwargs={"name": ASTRAL})).status_code == 404
    assert client.get(reverse("domain-delete", kwargs={"name": ASTRAL})).status_code == 404


@pytest.mark.parametrize("url", ["/mailboxes/", "/aliases/", "/domains/", "/django-admin/users/mailbox/",
                                 "/django-admin/aliases/alias/", "/django-admin/users/domain/", "/audit/"])
def test_an_astral_search_finds_nothing_instead_of_failing(alice, jane_mailbox, url):
    for key in ("q", "domain", "actor", "object", "email__exact"):
        response = logged_in(alice).get(url, {key: ASTRAL})
        assert response.status_code in (200, 302), (key, response.status_code)


def test_an_astral_domain_choice_is_a_form_error(alice, domain_a):
    response = logged_in(alice).post(reverse("mailbox-create"), {
        "local_part": "new", "domain": ASTRAL, "quota": "0", "password_mode": "generate",
    })
    assert response.status_code == 200
    assert not Mailbox.objects.filter(email="new@a.example").exists()


@pytest.mark.parametrize("value", ["jane😀@a.example", "jane@a😀.example", "😀.example"])
def test_addresses_refuse_characters_the_mail_tables_cannot_store(value):
    with pytest.raises(addresses.AddressError, match="emoji"):
        addresses.normalize_alias_source(value) if "@" in value else addresses.normalize_domain(value)


def test_an_astral_value_still_matches_nothing_through_exclude(jane_mailbox):
    assert Mailbox.objects.filter(email=ASTRAL).count() == 0
    assert Mailbox.objects.exclude(email=ASTRAL).count() == 1
    assert Mailbox.objects.filter(email__in=[ASTRAL, "jane@a.example"]).count() == 1


# --- Ids and filters that are not numbers ------------------------------------------------------


@pytest.mark.parametrize("text", ["abc", "", " ", "1.5", "-1", "0", "١٢", "9" * 30, None, "²"])
def test_parse_id_answers_none_for_text_that_is_no_id(text):
    assert parse_id(text) is None


def test_parse_id_reads_an_id():
    assert parse_id("42") == 42 and parse_id(7) == 7


@pytest.mark.parametrize("editing", ["abc", ASTRAL, "nobody@a.example"])
def test_an_alias_preview_for_an_alias_that_does_not_exist_is_a_404(alice, domain_a, editing):
    response = logged_in(alice).get(reverse("alias-preview"), {"editing": editing, "destinations": "x@a.example"})
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["abc", " ", HUGE, ASTRAL])
def test_the_admins_domain_filter_ignores_what_is_no_id(alice, jane_mailbox, value):
    for url in ("/django-admin/users/mailbox/", "/django-admin/aliases/alias/"):
        response = logged_in(alice).get(url, {"domain": value})
        assert response.status_code == 200


def test_an_admin_action_on_ids_that_are_not_ids_says_so(alice, jane_mailbox):
    response = logged_in(alice).post(
        "/django-admin/users/mailbox/", {"action": "set_quota", "_selected_action": ["abc"], "index": "0"}, follow=True
    )
    assert response.status_code == 200
    assert b"The selection was not understood" in response.content


# --- Dates out of range --------------------------------------------------------------------------


@pytest.mark.parametrize("dates", [{"until": "9999-12-31"}, {"since": "0001-01-01"}, {"since": "9999-12-31"}])
def test_audit_filters_with_dates_out_of_range_answer(alice, jane_mailbox, dates):
    client = logged_in(alice)
    assert client.get(reverse("audit-log"), dates).status_code == 200
    response = client.get(reverse("audit-export"), dates)
    assert response.status_code == 200
    assert body(response).startswith(b"time,actor")


# --- A NUL in an imported password -----------------------------------------------------------------


def test_a_nul_in_an_imported_password_is_an_error_in_the_dry_run(alice, domain_a):
    response = logged_in(alice).post(reverse("bulk-import"), {
        "file": upload("email,password,quota\nnew@a.example,Strong-Import\x00Passw0rd,1G\n"),
    })
    assert response.status_code == 200
    assert "NUL" in response.content.decode()
    assert not Mailbox.objects.filter(email="new@a.example").exists()


def test_an_imported_hash_with_a_character_the_column_cannot_store_is_an_error_row(domain_a):
    the_plan = csv_io.plan("email,password,quota\nnew@a.example,{SSHA}😀,1G\n", AS_ROOT)
    assert [row.status for row in the_plan.rows] == [csv_io.ERROR]


# --- A 256-character username on the login forms ---------------------------------------------------


@pytest.mark.parametrize("url", ["/login/", "/django-admin/login/"])
def test_a_256_character_username_is_a_failed_login(db, url):
    response = Client().post(url, {"username": "a" * 256 + "@a.example", "password": "wrong"})
    assert response.status_code == 200


# --- Formula injection ------------------------------------------------------------------------------


FORMULAS = ["=cmd|'/c@a.example", "+1+1@a.example", "-2+3@a.example", "@a.example"]


@pytest.mark.parametrize("value", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value):
    assert csv_safe.cell(value) == "'" + value
    assert csv_safe.uncell(csv_safe.cell(value)) == value


def test_ordinary_cells_are_unchanged():
    assert csv_safe.row(["jane@a.example", 0, None, "{BLF-CRYPT}$2y$"]) == ["jane@a.example", "0", "", "{BLF-CRYPT}$2y$"]


@pytest.fixture
def formula_names(domain_a):
    for email in FORMULAS[:3]:
        Mailbox.objects.create(domain=domain_a, email=email, password="{PLAIN}x", quota=0)
    Alias.objects.create(domain=domain_a, source="@a.example", destination="-2+3@a.example")


def test_no_export_starts_a_cell_with_a_formula(alice, formula_names):
    client = logged_in(alice)
    files = [
        client.get(reverse("bulk-export"), {"what": "mailboxes"}),
        client.get(reverse("bulk-export"), {"what": "aliases"}),
        client.get(reverse("audit-export")),
        client.post("/django-admin/users/mailbox/", {
            "action": "generate_passwords", "confirmed": "yes", "index": "0",
            "_selected_action": list(Mailbox.objects.values_list("pk", flat=True)),
        }),
    ]
    for response in files:
        assert response["Content-Type"].startswith("text/csv"), response.status_code
        cells = [cell for row in csv.reader(io.StringIO(body(response).decode())) for cell in row]
        assert len(cells) > 2
        assert not [cell for cell in cells if cell.startswith(csv_safe.FORMULA_STARTS)], cells


def test_an_export_imports_back_unchanged(alice, formula_names):
    client = logged_in(alice)
    for what in ("mailboxes", "aliases"):
        exported = body(client.get(reverse("bulk-export"), {"what": what})).decode()
        assert "'=cmd" in exported or "'@a.example" in exported
        the_plan = csv_io.plan(exported, AS_ROOT)
        assert {row.status for row in the_plan.rows} == {csv_io.UNCHANGED}, [(r.key, r.detail) for r in the_plan.rows]


# --- Links in mail are built on MAILADMIN_BASE_URL, not on the request's Host ------------------------


def test_a_reset_mail_links_to_the_base_url_whatever_host_the_request_names(settings, jane_mailbox):
    settings.MAILADMIN_BASE_URL = "https://mail.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    RecoveryAddress.objects.create(mailbox=jane_mailbox, address="jane@elsewhere.example")
    response = Client().post(reverse("password-reset-request"), {"address": "jane@a.example"}, HTTP_HOST="127.0.0.1:6666")
    assert response.status_code == 302
    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert links and all(link.startswith("https://mail.example.org/reset/") for link in links), links


def test_the_staff_reset_link_page_uses_the_base_url(settings, alice, jane_mailbox):
    settings.MAILADMIN_BASE_URL = "https://mail.example.org/"
    response = logged_in(alice).post(reverse("mailbox-reset-link", kwargs={"pk": jane_mailbox.pk}), HTTP_HOST="localhost:6666")
    assert "https://mail.example.org/reset/" in response.content.decode()
    assert "6666" not in response.content.decode()


# --- Headers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/dashboard/", "/mailboxes/", "/django-admin/", "/audit/"])
def test_staff_pages_are_never_stored_by_a_cache(alice, jane_mailbox, url):
    response = logged_in(alice).get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_a_mailbox_users_page_is_never_stored_by_a_cache(jane):
    assert "no-store" in logged_in(jane).get(reverse("account"))["Cache-Control"]


@pytest.mark.parametrize("query", [{"what": "mailboxes"}, {"what": "aliases"}])
def test_csv_exports_are_never_stored_by_a_cache(alice, jane_mailbox, query):
    client = logged_in(alice)
    assert "no-store" in client.get(reverse("bulk-export"), query)["Cache-Control"]
    assert "no-store" in client.get(reverse("audit-export"))["Cache-Control"]


def test_a_public_page_has_the_policy_too(db):
    response = Client().get(reverse("password-reset-request"))
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_hsts_never_says_preload_unless_asked(settings, db):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = False
    response = Client().get("/login/", secure=True)
    assert "preload" not in response["Strict-Transport-Security"]
    settings.SECURE_HSTS_PRELOAD = True
    assert "preload" in Client().get("/login/", secure=True)["Strict-Transport-Security"]


# --- Error pages in the panel's layout ---------------------------------------------------------------


def assert_panel_page(response, status, sentence):
    assert response.status_code == status
    text = response.content.decode()
    assert '<meta name="viewport"' in text and "<title>" in text and "· mailadmin</title>" in text
    assert sentence in text
    assert 'href="/"' in text  # the way back
    assert 'rel="icon"' in text


def test_404_is_the_panels_page(alice):
    assert_panel_page(logged_in(alice).get("/no-such-page/"), 404, "There is nothing here")


def test_403_is_the_panels_page(jane):
    assert_panel_page(logged_in(jane).get(reverse("dashboard")), 403, "You may not open this page")


def test_400_is_the_panels_page(db):
    # A Host that ALLOWED_HOSTS does not list is Django's SuspiciousOperation: a 400.
    response = Client().get("/login/", HTTP_HOST="evil.example")
    assert_panel_page(response, 400, "This request could not be understood")


def test_a_csrf_failure_is_the_panels_page(db):
    response = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    assert_panel_page(response, 403, "This form has expired")


def test_500_is_the_panels_page(rf):
    assert_panel_page(server_error(rf.get("/")), 500, "Something went wrong on the server")


def test_the_lockout_page_says_how_long_the_lock_lasts(db, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR="192.0.2.50")
    for _ in range(2):
        client.post("/login/", {"username": "jane@a.example", "password": "wrong"})
    response = client.post("/login/", {"username": "jane@a.example", "password": "wrong"})
    assert_panel_page(response, 429, "Login is locked")
    minutes = int(settings.AXES_COOLOFF_TIME * 60)
    assert re.search(rf"for {minutes} more minutes", response.content.decode()), response.content.decode()
    assert 0 < int(response["Retry-After"]) <= minutes * 60


def test_the_favicon_is_served(db):
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("/mailadmin/favicon.svg")


# --- Found by the search (test_hostile_input.py) ----------------------------------------------------


@pytest.mark.parametrize("query", [{"attempt_time__year": HUGE}, {"attempt_time__year": "9999"},
                                   {"attempt_time__year": "2026", "attempt_time__month": HUGE}])
def test_the_admins_date_hierarchy_with_a_year_out_of_range_is_an_invalid_filter(alice, query):
    for url in ("/django-admin/axes/accesslog/", "/django-admin/axes/accessattempt/"):
        response = logged_in(alice).get(url, query)
        assert response.status_code in (200, 302), (url, response.status_code)


def test_an_action_on_another_apps_admin_with_ids_that_are_not_ids_says_so(alice):
    response = logged_in(alice).post(
        "/django-admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ["abc"], "index": "0"},
        follow=True,
    )
    assert b"The selection was not understood" in response.content


def test_who_may_send_as_an_astral_address_is_nobody(alice, jane_mailbox):
    response = logged_in(alice).get(reverse("sending-lookup"), {"address": "😀", "login": "jane😀@a.example"})
    assert response.status_code == 200


@pytest.mark.parametrize("object_id", ["%20", "abc", "9" * 30])
def test_the_admins_domain_delete_for_an_id_that_is_no_id_is_a_404(alice, domain_a, object_id):
    assert logged_in(alice).get(f"/django-admin/users/domain/{object_id}/delete/").status_code == 404


@pytest.mark.parametrize("target", ["aaaa", "x" * 300, "😀", "https://evil.example/"])
def test_the_login_codes_next_is_only_a_path_of_this_site(alice, target):
    response = logged_in(alice).get(reverse("login-code"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("url", ["/django-admin/users/domain/{domain}/change/", "/django-admin/users/mailbox/{mailbox}/change/",
                                 "/django-admin/users/mailbox/{mailbox}/delete/"])
def test_an_empty_to_field_in_the_admin_is_the_plain_page(alice, jane_mailbox, url):
    response = logged_in(alice).get(url.format(domain=jane_mailbox.domain_id, mailbox=jane_mailbox.pk), {"_to_field": ""})
    assert response.status_code in (200, 302)
