"""The panel's database asked with the configured sender-login query (aliases.sender_rights).

aliases/tests/test_sender_login_postfix.py proves the pure model (sendable_as, may_send) against
a real Postfix; here the database-backed answers must equal the model's on the same rows.
"""

import random

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from aliases import sender_rights
from aliases.models import Alias
from aliases.sender_login import ALIASES_QUERY, may_send, sendable_as, table_lookup
from users.models import Domain, Mailbox

HASH = "{PLAIN}unused"
MAILBOXES = ["jane@a.example", "john@a.example", "sales+eu@a.example", "bob@b.example", "carol@c.example"]
ALIASES = [
    ("info@a.example", "jane@a.example"),
    ("info@a.example", "john@a.example"),
    ("team@a.example", "jane@a.example"),
    ("team@a.example", "friend@external.example"),
    ("postmaster@a.example", "john@a.example"),
    ("sales@a.example", "john@a.example"),
    ("sales+us@a.example", "jane@a.example"),
    ("@c.example", "jane@a.example"),
    ("empty@c.example", ""),  # Postfix skips an empty value: the catch-all answers instead
    ("@b.example", "bob@b.example"),
]
LOGINS = ["jane@a.example", "john@a.example", "bob@b.example", "carol@c.example", "sales+eu@a.example"]


def load(mailboxes, aliases):
    domains = {}
    for address in [*mailboxes, *(source for source, _ in aliases)]:
        name = address.rpartition("@")[2].lower()
        if name not in domains:
            domains[name] = Domain.objects.create(name=name)
    Mailbox.objects.bulk_create(
        Mailbox(domain=domains[email.rpartition("@")[2].lower()], email=email, password=HASH) for email in mailboxes
    )
    # bulk_create: legacy rows (an empty destination) that the models' validation would refuse.
    Alias.objects.bulk_create(
        Alias(domain=domains[source.rpartition("@")[2].lower()], source=source, destination=destination)
        for source, destination in aliases
    )


@pytest.fixture
def rows(db):
    load(MAILBOXES, ALIASES)


def listing(send_as):
    return sorted((s.pattern, s.kind, s.via, tuple(sorted(s.except_))) for s in send_as)


@pytest.mark.parametrize("query", ["own", "aliases"])
def test_rights_of_lists_what_the_model_lists_for_every_login(rows, settings, query):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    for login in LOGINS:
        expected = listing(sendable_as(login, MAILBOXES, ALIASES, query=query))
        got = listing(right.as_send_as() for right in sender_rights.rights_of(login))
        assert got == expected, login


def test_rights_of_names_each_kind_of_right_with_its_key(rows):
    rights = {right.pattern: right for right in sender_rights.rights_of("jane@a.example")}
    assert rights["jane@a.example"].kind == "address"
    assert rights["jane+*@a.example"].kind == "extension"
    assert rights["info@a.example"].owners == ("jane@a.example", "john@a.example")
    assert rights["*@c.example"].kind == "catch-all"
    # carol's mailbox answers for itself before the catch-all; "empty" has only an empty value.
    assert rights["*@c.example"].except_ == ("carol@c.example",)
    assert "sales+us@a.example" in rights
    john = {right.pattern: right for right in sender_rights.rights_of("john@a.example")}
    # sales+eu (a mailbox) and sales+us (jane's alias) have rows of their own: john's sales+* stops there.
    assert john["sales+*@a.example"].except_ == ("sales+eu@a.example", "sales+us@a.example")


def test_the_own_query_gives_only_the_login_s_own_address(rows, settings):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "own"
    assert [r.pattern for r in sender_rights.rights_of("jane@a.example")] == ["jane@a.example", "jane+*@a.example"]


def test_a_pasted_guide_query_takes_the_fast_path_and_a_custom_one_gives_the_same_answers(rows, settings):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "  " + ALIASES_QUERY.replace(" UNION", "\n UNION")
    assert sender_rights.lookup_config().name == "aliases"
    guide = {login: listing(r.as_send_as() for r in sender_rights.rights_of(login)) for login in LOGINS}
    # The same query with an extra no-op condition is "custom": asked key by key.
    settings.MAILADMIN_SENDER_LOGIN_QUERY = ALIASES_QUERY + " AND 1=1"
    assert sender_rights.lookup_config().name == "custom"
    custom = {login: listing(r.as_send_as() for r in sender_rights.rights_of(login)) for login in LOGINS}
    assert custom == guide


def test_a_query_that_cannot_be_parametrised_is_a_configuration_error(settings):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "SELECT email FROM virtual_users WHERE email='%u@%d'"
    with pytest.raises(ImproperlyConfigured, match="MAILADMIN_SENDER_LOGIN_QUERY"):
        sender_rights.lookup_config()


@pytest.mark.parametrize(
    "address, key, owners",
    [
        ("info@a.example", "info@a.example", ("jane@a.example", "john@a.example")),
        ("Info+Promo@A.example", "info@a.example", ("jane@a.example", "john@a.example")),
        ("anything@c.example", "@c.example", ("jane@a.example",)),
        ("empty@c.example", "@c.example", ("jane@a.example",)),
        ("carol@c.example", "carol@c.example", ("carol@c.example",)),
        ("someone@external.example", None, ()),
    ],
)
def test_who_may_send_as_reports_the_key_that_answered(rows, address, key, owners):
    answer = sender_rights.who_may_send_as(address)
    assert (answer.matched_key, answer.owners) == (key, owners)
    assert answer.reason


def test_who_may_send_as_shows_the_keys_that_had_no_rows(rows):
    answer = sender_rights.who_may_send_as("nobody+x@c.example")
    assert [a.key for a in answer.tried] == ["nobody+x@c.example", "nobody@c.example", "@c.example"]
    assert [a.rows for a in answer.tried] == [(), (), ("jane@a.example",)]
    assert "nobody+x@c.example, nobody@c.example had no rows" in answer.reason


def test_the_null_sender_is_everyone_s(rows):
    assert sender_rights.who_may_send_as("").is_null_sender
    assert sender_rights.check("carol@c.example", "<>").allowed


def test_the_key_never_enters_the_sql_text(rows):
    hostile = "x'or'1'='1@a.example"
    with CaptureQueriesContext(connection) as queries:
        answer = sender_rights.who_may_send_as(hostile)
    assert answer.matched_key is None
    assert all("'1'='1" not in q["sql"] or "%s" not in q["sql"] for q in queries.captured_queries)
    assert sender_rights.check("jane@a.example", hostile).allowed is False


def test_check_agrees_with_the_model_on_every_pair(rows):
    lookup = table_lookup(MAILBOXES, ALIASES)
    senders = ["jane@a.example", "jane+x@a.example", "info@a.example", "sales+eu@a.example", "sales+xx@a.example",
               "x@c.example", "carol+x@c.example", "x@b.example", "team@a.example", "friend@external.example"]
    for login in LOGINS:
        for sender in senders:
            assert sender_rights.check(login, sender).allowed == may_send(login, sender, lookup).allowed, (login, sender)


def test_rights_of_asks_a_few_queries_whatever_the_table_size(db):
    mailboxes = [f"user{n}@big.example" for n in range(300)]
    aliases = [(f"alias{n}@big.example", f"user{n % 300}@big.example") for n in range(600)]
    load(mailboxes, aliases + [("@big.example", "user1@big.example")])
    with CaptureQueriesContext(connection) as queries:
        rights = sender_rights.rights_of("user1@big.example")
    assert len(queries) <= 8, [q["sql"] for q in queries.captured_queries]
    assert {r.pattern for r in rights} >= {"alias1@big.example", "alias301@big.example", "*@big.example"}
    catch_all = next(r for r in rights if r.kind == "catch-all")
    assert len(catch_all.except_) == sender_rights.CATCH_ALL_SAMPLE and catch_all.more_exceptions
    for sql in (q["sql"] for q in queries.captured_queries):
        assert "WHERE" in sql, sql  # nothing reads a whole table


def test_rights_of_agrees_with_the_model_on_random_tables(db):
    rng = random.Random(6)
    domains = ["r1.example", "r2.example"]
    locals_ = ["ann", "ben", "cat", "dan", "info", "sales", "ann+x", "ben+y", "team"]
    mailboxes = sorted({f"{rng.choice(locals_[:6])}@{rng.choice(domains)}" for _ in range(8)})
    aliases = set()
    for _ in range(25):
        source = rng.choice([f"{rng.choice(locals_)}@{rng.choice(domains)}", f"@{rng.choice(domains)}"])
        destination = rng.choice(mailboxes + ["out@external.example"])
        if source != destination:
            aliases.add((source, destination))
    aliases = sorted(aliases)
    load(mailboxes, aliases)
    for login in mailboxes:
        expected = listing(sendable_as(login, mailboxes, aliases))
        assert listing(r.as_send_as() for r in sender_rights.rights_of(login)) == expected, login


# --- preview -----------------------------------------------------------------------------------


def sentences(preview):
    return sorted(change.sentence for change in preview.changes)


def test_a_new_alias_with_several_destinations_lists_each_new_sender(rows):
    preview = sender_rights.preview_create("support@a.example", ["jane@a.example", "john@a.example", "x@external.example"])
    gains = {(c.login, c.what) for c in preview.gains}
    assert ("jane@a.example", "support@a.example") in gains
    assert ("john@a.example", "support@a.example") in gains
    assert ("jane@a.example", "support+…@a.example (extensions without a row of their own)") in gains
    # An external address cannot log in: it is not listed.
    assert all(c.login != "x@external.example" for c in preview.changes)
    assert not preview.losses
    assert not Alias.objects.filter(source="support@a.example").exists()


def test_an_address_in_a_catch_all_domain_is_lost_by_the_catch_all_owner(rows):
    preview = sender_rights.preview_create("help@c.example", ["carol@c.example"])
    assert ("carol@c.example", True, "help@c.example") in {(c.login, c.gains, c.what) for c in preview.changes}
    assert ("jane@a.example", False, "help@c.example") in {(c.login, c.gains, c.what) for c in preview.changes}
    assert "jane@a.example loses help@c.example (until now through @c.example)." in sentences(preview)


def test_removing_one_destination_only_touches_that_login(rows):
    john_row = Alias.objects.get(source="info@a.example", destination="john@a.example")
    preview = sender_rights.preview_delete(john_row)
    assert {(c.login, c.gains) for c in preview.changes} == {("john@a.example", False)}
    assert Alias.objects.filter(pk=john_row.pk).exists()


def test_an_edit_moves_the_right_from_one_login_to_another(rows):
    row = Alias.objects.get(source="sales@a.example")
    preview = sender_rights.preview_edit(row, "sales@a.example", "jane@a.example")
    changes = {(c.login, c.gains, c.what) for c in preview.changes}
    assert ("jane@a.example", True, "sales@a.example") in changes
    assert ("john@a.example", False, "sales@a.example") in changes


def test_deleting_a_catch_all_takes_the_domain_away(rows):
    preview = sender_rights.preview_delete(Alias.objects.get(source="@c.example"))
    assert [c.sentence for c in preview.changes] == [
        "jane@a.example loses any address at c.example that has no row of its own (until now through @c.example)."
    ]


def test_an_unchanged_edit_changes_nothing(rows):
    row = Alias.objects.get(source="sales@a.example")
    assert not sender_rights.preview_edit(row, row.source, row.destination)


def test_with_the_own_query_alias_changes_grant_nothing(rows, settings):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "own"
    preview = sender_rights.preview_create("support@a.example", ["jane@a.example"])
    assert not preview.changes and "virtual_users only" in preview.note


CUSTOM_ALIASES_QUERY = ALIASES_QUERY + " AND 1=1"


def test_a_custom_query_preview_gives_what_the_guide_query_gives(rows, settings):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = CUSTOM_ALIASES_QUERY
    help_row = [("help@c.example", ["carol@c.example"])]
    custom = [sender_rights.preview_create(s, d) for s, d in help_row]
    custom.append(sender_rights.preview_delete(Alias.objects.get(source="info@a.example", destination="john@a.example")))
    custom.append(sender_rights.preview_edit(Alias.objects.get(source="sales@a.example"), "sales@a.example", "jane@a.example"))
    assert ("jane@a.example", False, "help@c.example") in {(c.login, c.gains, c.what) for c in custom[0].changes}
    settings.MAILADMIN_SENDER_LOGIN_QUERY = "aliases"
    guide = [sender_rights.preview_create(s, d) for s, d in help_row]
    guide.append(sender_rights.preview_delete(Alias.objects.get(source="info@a.example", destination="john@a.example")))
    guide.append(sender_rights.preview_edit(Alias.objects.get(source="sales@a.example"), "sales@a.example", "jane@a.example"))
    assert [p.changes for p in custom] == [p.changes for p in guide]
    assert all(p.changes for p in custom)


@pytest.mark.parametrize(
    "query, reason",
    [
        ("WITH x AS (SELECT 1) " + ALIASES_QUERY, "a WITH clause of its own"),
        ("SELECT destination FROM mailserver.virtual_aliases WHERE source='%s'", "database prefix"),
        ("SELECT destination FROM `mailserver`.`virtual_aliases` WHERE source='%s'", "database prefix"),
        ("SELECT email FROM virtual_users WHERE email='%s' AND 'virtual_aliases' <> ''", "does not read virtual_aliases"),
    ],
)
def test_a_custom_query_the_preview_cannot_shadow_says_so_plainly(rows, settings, query, reason):
    settings.MAILADMIN_SENDER_LOGIN_QUERY = query
    preview = sender_rights.preview_create("help@c.example", ["carol@c.example"])
    assert not preview.changes
    assert "cannot be asked about this change before it is saved" in preview.note and reason in preview.note
    assert "shown after saving" in preview.note


def _session_writes(cursor):
    cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', 'Handler_delete')")
    return {name: int(value) for name, value in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_a_custom_query_preview_neither_writes_nor_locks_what_postfix_reads(settings):
    """The preview runs in a READ ONLY transaction, counts no row written, and leaves no row lock
    that a second connection's FOR UPDATE NOWAIT would run into."""
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    import MySQLdb

    load(MAILBOXES, ALIASES)
    settings.MAILADMIN_SENDER_LOGIN_QUERY = CUSTOM_ALIASES_QUERY
    db = connection.settings_dict
    probe = MySQLdb.connect(host=db["HOST"], port=int(db["PORT"] or 3306), user=db["USER"], password=db["PASSWORD"], database=db["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            before = _session_writes(cursor)
            row = Alias.objects.get(source="sales@a.example")
            previews = [
                sender_rights.preview_create("help@c.example", ["carol@c.example"]),
                sender_rights.preview_edit(row, "sales@a.example", "jane@a.example"),
                sender_rights.preview_delete(row),
            ]
            assert _session_writes(cursor) == before
            with probe.cursor() as other:
                other.execute("SELECT id FROM virtual_aliases FOR UPDATE NOWAIT")
                assert len(other.fetchall()) == len(ALIASES)
                probe.rollback()
    finally:
        probe.close()
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION READ WRITE")
    assert all(preview.changes for preview in previews)
    assert not Alias.objects.filter(source="help@c.example").exists()


def test_mixed_case_rows_are_found_on_mariadb(mariadb):
    load(["Mixed@a.example", "jane@a.example"], [("shout@a.example", "JANE@A.EXAMPLE")])
    assert {r.pattern for r in sender_rights.rights_of("jane@a.example")} >= {"shout@a.example"}
    assert {r.pattern for r in sender_rights.rights_of("mixed@a.example")} == {"mixed@a.example", "mixed+*@a.example"}
    assert sender_rights.check("mixed@a.example", "MIXED+x@A.example").allowed


# --- Legacy rows with trailing blanks (the guide's utf8 columns are PAD SPACE) -----------------


@pytest.fixture
def padded_rows(mariadb):
    """Rows as an old tool left them: MariaDB finds them by the unpadded key, Python sees the blank."""
    load(["jane@a.example", "john@a.example"], [])
    domain = Domain.objects.get(name="a.example")
    Alias.objects.bulk_create(
        Alias(domain=domain, source="info@a.example ", destination=destination)
        for destination in ("jane@a.example", "john@a.example ")
    )
    assert Alias.objects.filter(source="info@a.example").count() == 2  # as Postfix's WHERE source='...' sees it


def test_the_rights_list_shows_a_padded_source_without_its_blank(padded_rows):
    patterns = [right.pattern for right in sender_rights.rights_of("jane@a.example")]
    assert "info@a.example" in patterns and all(not p.endswith(" ") for p in patterns)


def test_deleting_a_padded_row_announces_exactly_the_loss_postfix_will_have(padded_rows):
    row = Alias.objects.get(destination="john@a.example ")
    preview = sender_rights.preview_delete(row)
    assert [(c.login, c.gains, c.what) for c in preview.changes] == [
        ("john@a.example", False, "info@a.example"),
        ("john@a.example", False, "info+…@a.example (extensions without a row of their own)"),
    ]


def test_a_new_row_equal_to_a_padded_one_changes_nothing(padded_rows):
    assert not sender_rights.preview_create("INFO@a.example", ["jane@a.example"]).changes


def test_the_domain_a_scope_check_must_use_is_the_rewritten_one(settings):
    settings.MAILADMIN_LOCAL_DOMAINS = ["localhost"]
    settings.MAILADMIN_MYORIGIN = "a.example"
    assert sender_rights.resolved_address("info%b.example@localhost") == "info@b.example"
    assert sender_rights.resolved_address("b.example!info") == "info@b.example"
    assert sender_rights.resolved_address("erin") == "erin@a.example"
    assert sender_rights.resolved_address("<>") == ""
