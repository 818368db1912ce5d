"""manage.py sender check|owners|rights: Postfix's words and exit codes."""

from io import StringIO

import pytest
from django.core.management import call_command

from aliases.models import Alias
from users.models import Mailbox


@pytest.fixture
def rows(domain_a, domain_b, jane_mailbox):
    Mailbox.objects.create(domain=domain_b, email="kim@b.example", password="{PLAIN}unused")
    Alias.objects.create(domain=domain_a, source="info@a.example", destination="jane@a.example")
    Alias.objects.create(domain=domain_b, source="@b.example", destination="jane@a.example")


def run(*args):
    out = StringIO()
    try:
        call_command("sender", *args, stdout=out)
    except SystemExit as exit:
        return exit.code, out.getvalue()
    return 0, out.getvalue()


def test_check_exits_0_and_prints_postfix_ok_for_an_alias(rows):
    code, out = run("check", "jane@a.example", "Info+x@a.example")
    assert code == 0
    assert out.splitlines()[0] == "250 2.1.5 Ok"
    assert "info@a.example is owned by jane@a.example" in out


def test_check_exits_1_with_postfix_s_rejection(rows):
    code, out = run("check", "kim@b.example", "info@a.example")
    assert code == 1
    assert out.splitlines()[0] == "553 5.7.1 <info@a.example>: Sender address rejected: not owned by user kim@b.example"


def test_a_mailbox_address_beats_the_catch_all(rows):
    assert run("check", "jane@a.example", "kim@b.example")[0] == 1
    assert run("check", "jane@a.example", "other@b.example")[0] == 0


def test_the_null_sender_is_allowed(rows):
    assert run("check", "kim@b.example", "")[0] == 0


def test_owners_lists_each_owner_and_the_key(rows):
    code, out = run("owners", "nobody@b.example")
    assert code == 0
    assert out.splitlines()[0] == "jane@a.example"
    assert "@b.example (the domain's catch-all) answered with 1 row" in out


def test_owners_of_an_address_nobody_owns_says_so(rows):
    assert "No key has a row" in run("owners", "x@outside.example")[1]


def test_rights_lists_patterns_with_kinds(rows):
    out = run("rights", "jane@a.example")[1]
    assert "info@a.example\taddress" in out
    assert "*@b.example\tcatch-all" in out
    assert "except kim@b.example" in out


@pytest.mark.parametrize(
    "sender, rewrite",
    [
        ('"info"@a.example', "the quotes are removed"),
        ("a.example!info", "the bang path a.example!info is info@a.example (swap_bangpath)"),
        ("info%a.example@localhost", "info%a.example is info@a.example (allow_percent_hack)"),
        ("@relay.example:info@a.example", "the source route @relay.example: is dropped"),
        ("info@a.example.", "the trailing dot is dropped"),
    ],
)
def test_check_says_which_rewrite_postfix_applied_before_the_lookup(rows, settings, sender, rewrite):
    settings.MAILADMIN_LOCAL_DOMAINS = ["localhost"]
    code, out = run("check", "jane@a.example", sender)
    assert (code, out.splitlines()[0]) == (0, "250 2.1.5 Ok")
    assert f"# Postfix looks up <{sender}> as info@a.example: " in out and rewrite in out


def test_check_appends_myorigin_to_a_bare_sender(rows, settings):
    settings.MAILADMIN_MYORIGIN = "a.example"
    code, out = run("check", "jane@a.example", "info")
    assert code == 0
    assert "a bare local part gets @$myorigin (info@a.example)" in out


def test_check_reads_myorigin_from_a_mailname_file(rows, settings, tmp_path):
    mailname = tmp_path / "mailname"
    mailname.write_text("A.Example\n")
    settings.MAILADMIN_MYORIGIN = str(mailname)
    assert run("check", "jane@a.example", "info")[0] == 0
    settings.MAILADMIN_MYORIGIN = "b.example"
    assert run("check", "jane@a.example", "info")[0] == 0  # the catch-all of b.example
    settings.MAILADMIN_MYORIGIN = "c.example"
    assert run("check", "jane@a.example", "info")[0] == 1


# --- manage.py check: a sender query or delimiter that cannot work fails before any request ----


def check_errors():
    from django.core.checks import run_checks

    return [f"{e.id}: {e.msg}" for e in run_checks(include_deployment_checks=False) if e.id.startswith("aliases.")]


@pytest.mark.parametrize(
    "query, error",
    [
        ("", "aliases.E001: MAILADMIN_SENDER_LOGIN_QUERY is empty"),
        ("SELECT email FROM virtual_users WHERE email='%u@%d'", "aliases.E002: MAILADMIN_SENDER_LOGIN_QUERY cannot be expanded as Postfix does"),
        ("SELECT email FROM virtual_users WHERE email='%x'", "aliases.E002: "),
        ("DELETE FROM virtual_users WHERE email='%s'", "aliases.E003: MAILADMIN_SENDER_LOGIN_QUERY must be a SELECT"),
        ("SELECT email FROM virtual_users WHERE email='%s'; DROP TABLE x", "aliases.E003: MAILADMIN_SENDER_LOGIN_QUERY must be one statement"),
        ("SELECT goto FROM alias WHERE address='%s'", "aliases.E004: MAILADMIN_SENDER_LOGIN_QUERY fails on the database: "),
        ("SELECT nosuch FROM virtual_aliases WHERE source='%s'", "aliases.E004: "),
    ],
)
def test_check_fails_with_one_line_for_an_unusable_sender_query(db, settings, query, error):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    errors = check_errors()
    assert len(errors) == 1 and errors[0].startswith(error) and "\n" not in errors[0], errors


@pytest.mark.parametrize(
    "query",
    ["own", "aliases", "SELECT destination FROM virtual_aliases WHERE source='%s'", "  SELECT email FROM virtual_users WHERE email='%s';"],
)
def test_check_passes_a_usable_sender_query(db, settings, query):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    assert check_errors() == []


@pytest.mark.parametrize("delimiter", ["", "+", "+-", "+-_.=", "%"])
def test_check_accepts_a_delimiter_set_as_postfix_reads_it(db, settings, delimiter):
    settings.MAILADMIN_RECIPIENT_DELIMITER = delimiter
    assert check_errors() == []


@pytest.mark.parametrize(
    "delimiter, why",
    [("+ -", "white space"), ("+$", "'$'"), ("@", "'@'"), ("+\t", "white space"), ("+\x01", "control character"), ("·", "bytes")],
)
def test_check_refuses_a_delimiter_postfix_would_read_otherwise(db, settings, delimiter, why):
    settings.MAILADMIN_RECIPIENT_DELIMITER = delimiter
    errors = check_errors()
    assert len(errors) == 1 and errors[0].startswith("aliases.E005: MAILADMIN_RECIPIENT_DELIMITER") and why in errors[0], errors


def test_check_refuses_an_unreadable_myorigin_file(db, settings, tmp_path):
    settings.MAILADMIN_MYORIGIN = str(tmp_path / "missing")
    assert [e.split(":")[0] for e in check_errors()] == ["aliases.E006"]


def test_every_delimiter_of_the_set_cuts_an_extension(rows, settings):
    settings.MAILADMIN_RECIPIENT_DELIMITER = "+-"
    assert run("check", "jane@a.example", "info-list@a.example")[0] == 0
    assert run("check", "jane@a.example", "info+list@a.example")[0] == 0
    assert run("check", "jane@a.example", "info_list@a.example")[0] == 1


def test_check_says_why_postfix_refuses_an_address_at_mail_from(rows):
    code, out = run("check", "jane@a.example", "--", "-info@a.example")
    assert code == 1
    assert out.splitlines()[:2] == [
        "501 5.1.7 Bad sender address syntax",
        "# Postfix refuses <-info@a.example> at MAIL FROM: an address starting with '-' is refused (allow_min_user = no).",
    ]
