"""The pure model of Postfix's smtpd_sender_login_maps check (no database, no Postfix)."""

import itertools

import pytest

from aliases import postfix_config
from aliases.sender_login import (
    ALIASES_QUERY,
    OWN_QUERY,
    SenderDecision,
    lookup_keys,
    matches,
    may_send,
    owners_of,
    parse_owners,
    postfix_reply,
    rewriting_of,
    sendable_as,
    sql_for,
    sql_lookup,
    strip_extension,
    table_lookup,
)

MAILBOXES = ["jane@a.example", "john@a.example", "Mixed@A.example", "bob@b.example", "sales+eu@a.example"]
ALIASES = [
    ("info@a.example", "jane@a.example"),
    ("info@a.example", "john@a.example"),
    ("team@a.example", "jane@a.example"),
    ("team@a.example", "friend@external.example"),
    ("@b.example", "jane@a.example"),
    ("empty@b.example", ""),
    ("postmaster@a.example", "john@a.example"),
    ("sales@a.example", "john@a.example"),
]


def table(query="aliases"):
    return table_lookup(MAILBOXES, ALIASES, query)


@pytest.mark.parametrize(
    "address, options, keys",
    [
        ("jane@a.example", {}, ["jane@a.example", "@a.example"]),
        ("Jane@A.Example", {}, ["jane@a.example", "@a.example"]),
        ("jane+news@a.example", {}, ["jane+news@a.example", "jane@a.example", "@a.example"]),
        ("jane+a+b@a.example", {}, ["jane+a+b@a.example", "jane@a.example", "@a.example"]),
        ("jane+@a.example", {}, ["jane+@a.example", "jane@a.example", "@a.example"]),
        ("+jane@a.example", {}, ["+jane@a.example", "@a.example"]),
        ("jane+news@a.example", {"delimiter": ""}, ["jane+news@a.example", "@a.example"]),
        ("jane-news+x@a.example", {"delimiter": "+-"}, ["jane-news+x@a.example", "jane@a.example", "@a.example"]),
        ("owner-list@a.example", {"delimiter": "-"}, ["owner-list@a.example", "@a.example"]),
        ("list-request@a.example", {"delimiter": "-"}, ["list-request@a.example", "@a.example"]),
        ("owner+x@a.example", {"delimiter": "+"}, ["owner+x@a.example", "owner@a.example", "@a.example"]),
        ("double-bounce@a.example", {"delimiter": "-"}, ["double-bounce@a.example", "@a.example"]),
        ("jane@host.test", {"local_domains": ["host.test"]}, ["jane@host.test", "jane", "@host.test"]),
        (
            "jane+x@host.test",
            {"local_domains": ["host.test"]},
            ["jane+x@host.test", "jane@host.test", "jane+x", "jane", "@host.test"],
        ),
        ("jane", {"myorigin": "host.test"}, ["jane@host.test", "jane", "@host.test"]),
        ("jane@a.example", {"local_domains": ["host.test"]}, ["jane@a.example", "@a.example"]),
    ],
)
def test_lookup_keys_follow_postfix_order(address, options, keys):
    assert lookup_keys(address, **options) == keys


@pytest.mark.parametrize(
    "address, stripped, extension",
    [
        ("a+b@d", "a@d", "+b"),
        ("a@d", None, None),
        ("a@b+c.d", None, None),  # a delimiter in the domain is not an extension
        ("postmaster+x@d", "postmaster@d", "+x"),  # only the exact local part is protected
        ("a-b+c@d", "a@d", "-b+c"),
    ],
)
def test_strip_extension_cuts_at_the_first_delimiter_of_the_local_part(address, stripped, extension):
    assert strip_extension(address, "+-") == (stripped, extension)


def test_postmaster_is_never_split_even_when_a_delimiter_occurs_in_it():
    assert strip_extension("postmaster@d", "t") == (None, None)
    assert strip_extension("poster@d", "t") == ("pos@d", "ter")


@pytest.mark.parametrize(
    "rows, owners",
    [
        ([], []),
        (["jane@a.example"], ["jane@a.example"]),
        (["jane@a.example", "john@a.example"], ["jane@a.example", "john@a.example"]),
        (["jane@a.example, john@a.example"], ["jane@a.example", "john@a.example"]),
        (["jane@a.example john@a.example\tx"], ["jane@a.example", "john@a.example", "x"]),
        ([None, "", "jane@a.example"], ["jane@a.example"]),
        ([("a", "b"), ("c",)], ["a", "b", "c"]),
        ([b"bytes@a.example"], ["bytes@a.example"]),
    ],
)
def test_parse_owners_joins_rows_and_splits_like_smtpd(rows, owners):
    assert parse_owners(rows) == owners


def test_the_first_key_with_a_value_wins_even_when_it_does_not_list_the_login():
    # jane owns the catch-all of b.example, but bob@b.example answers first.
    assert owners_of("bob@b.example", table()) == ("bob@b.example", ["bob@b.example"])
    assert may_send("jane@a.example", "bob@b.example", table()).allowed is False


def test_null_and_empty_values_do_not_count_as_found():
    def lookup(key):
        return {"x@d": [None, ""], "@d": ["jane@a.example"]}.get(key, [])

    assert owners_of("x@d", lookup) == ("@d", ["jane@a.example"])


def test_a_value_of_only_blanks_is_found_but_owned_by_nobody():
    def lookup(key):
        return {"x@d": [" "], "@d": ["jane@a.example"]}.get(key, [])

    decision = may_send("jane@a.example", "x@d", lookup)
    assert (decision.allowed, decision.matched_key, decision.owners) == (False, "x@d", [])


@pytest.mark.parametrize(
    "login, sender, query, allowed, key",
    [
        ("jane@a.example", "jane@a.example", "own", True, "jane@a.example"),
        ("JANE@A.EXAMPLE", "jane@a.example", "own", True, "jane@a.example"),
        ("jane@a.example", "Jane@A.Example", "own", True, "jane@a.example"),
        ("jane@a.example", "jane+news@a.example", "own", True, "jane@a.example"),
        ("jane@a.example", "john@a.example", "own", False, "john@a.example"),
        ("jane@a.example", "info@a.example", "own", False, None),
        ("jane@a.example", "info@a.example", "aliases", True, "info@a.example"),
        ("john@a.example", "info@a.example", "aliases", True, "info@a.example"),
        ("john@a.example", "team@a.example", "aliases", False, "team@a.example"),
        ("jane@a.example", "anyone@b.example", "aliases", True, "@b.example"),
        ("jane@a.example", "anyone@b.example", "own", False, None),
        ("jane@a.example", "bob+x@b.example", "aliases", False, "bob@b.example"),
        ("mixed@a.example", "mixed@a.example", "own", True, "mixed@a.example"),
        ("john@a.example", "sales+eu@a.example", "aliases", False, "sales+eu@a.example"),
        ("sales+eu@a.example", "sales+eu@a.example", "own", True, "sales+eu@a.example"),
        ("john@a.example", "sales+us@a.example", "aliases", True, "sales@a.example"),
        ("john@a.example", "postmaster@a.example", "aliases", True, "postmaster@a.example"),
        ("jane@a.example", "jane@elsewhere.example", "aliases", False, None),
    ],
)
def test_may_send_matrix(login, sender, query, allowed, key):
    decision = may_send(login, sender, table(query))
    assert (decision.allowed, decision.matched_key) == (allowed, key), decision


@pytest.mark.parametrize("sender", ["", "<>", None])
def test_the_null_sender_is_always_allowed_to_a_login(sender):
    assert may_send("nobody@nowhere.example", sender, table()).allowed


@pytest.mark.parametrize(
    "sender, reply",
    [
        ("jane@a.example", "553 5.7.1 <jane@a.example>: Sender address rejected: not logged in"),
        ("nobody@c.example", "554 5.7.1 <nobody@c.example>: Sender address rejected: Access denied"),
        ("", "554 5.7.1 <>: Sender address rejected: Access denied"),
    ],
)
def test_an_anonymous_client_is_told_not_logged_in_for_owned_addresses_else_access_denied(sender, reply):
    decision = may_send(None, sender, table())
    assert (decision.allowed, postfix_reply(decision)) == (False, reply)


def test_postfix_reply_quotes_the_sender_as_sent_and_the_login():
    decision = may_send("jane@a.example", "John@A.example", table())
    assert decision.postfix_reply == (
        "553 5.7.1 <John@A.example>: Sender address rejected: not owned by user jane@a.example"
    )
    assert postfix_reply(SenderDecision("x@d", "jane@a.example", True)).startswith("250")


@pytest.mark.parametrize(
    "query, sql, fields",
    [
        (OWN_QUERY, "SELECT email FROM virtual_users WHERE email=%s", ("s",)),
        (
            ALIASES_QUERY,
            "SELECT email FROM virtual_users WHERE email=%s UNION SELECT destination FROM virtual_aliases WHERE source=%s",
            ("s", "s"),
        ),
        ("SELECT x FROM t WHERE u=%u AND d='%d'", "SELECT x FROM t WHERE u=%s AND d=%s", ("u", "d")),
        ("SELECT x FROM t WHERE a LIKE 'x%%' AND b='%s'", "SELECT x FROM t WHERE a LIKE 'x%%' AND b=%s", ("s",)),
        ("SELECT 100%% FROM t WHERE a='it''s' AND b='%s'", "SELECT 100%% FROM t WHERE a='it''s' AND b=%s", ("s",)),
    ],
)
def test_sql_for_turns_expansions_into_placeholders(query, sql, fields):
    parsed = sql_for(query)
    assert (parsed.sql, parsed.fields, parsed.n_params) == (sql, fields, len(fields))


@pytest.mark.parametrize("query", ["SELECT x FROM t WHERE a='%u@%d'", "SELECT x WHERE a=%q", "SELECT 'open"])
def test_sql_for_refuses_templates_it_cannot_parametrise(query):
    with pytest.raises(ValueError):
        sql_for(query)


@pytest.mark.parametrize(
    "query, key, params",
    [
        ("WHERE e='%s'", "Jane@a.example", ("Jane@a.example",)),
        ("WHERE u='%u' AND d='%d'", "jane@a.example", ("jane", "a.example")),
        ("WHERE u='%u' AND d='%d'", "@a.example", None),  # Postfix skips: empty local part
        ("WHERE d='%d'", "jane", None),  # Postfix skips: no domain
        ("WHERE u='%u'", "jane", ("jane",)),
        ("WHERE t='%1' AND s='%2'", "x@mail.a.example", ("example", "a")),
        ("WHERE s='%3'", "x@a.example", None),
        ("WHERE e='%s'", "", None),
    ],
)
def test_params_for_expands_like_db_common_and_skips_where_postfix_skips(query, key, params):
    assert sql_for(query).params_for(key) == params


def test_sql_lookup_never_puts_the_key_into_the_sql_text():
    seen = []

    def run(sql, params):
        seen.append((sql, params))
        return []

    hostile = "\"x' OR '1'='1\"@a.example"
    owners_of(hostile, sql_lookup(run, ALIASES_QUERY))
    assert seen and all("x'" not in sql and "OR '1'" not in sql for sql, _ in seen)
    # The local part holds blanks, so Postfix asks its quoted form first, then the unquoted one.
    unquoted = "x' or '1'='1@a.example"
    assert [params for _, params in seen[:2]] == [(hostile.lower(),) * 2, (unquoted,) * 2]


def test_render_postfix_mysql_cf_writes_the_guide_keys():
    text = postfix_config.render_postfix_mysql_cf(
        OWN_QUERY, user="mailuser", password="s3cret", hosts="127.0.0.1", dbname="mailserver"
    )
    assert text.splitlines() == [
        "user = mailuser",
        "password = s3cret",
        "hosts = 127.0.0.1",
        "dbname = mailserver",
        f"query = {OWN_QUERY}",
    ]
    assert postfix_config.mysql_hosts("127.0.0.1", 3307) == "inet:127.0.0.1:3307"
    with pytest.raises(ValueError):
        postfix_config.render_postfix_mysql_cf(OWN_QUERY, user="u", password="a\nb", hosts="h", dbname="d")


def patterns(login, query):
    return {(s.pattern, s.except_) for s in sendable_as(login, MAILBOXES, ALIASES, query=query)}


def test_sendable_as_lists_own_address_and_its_extensions_under_the_own_query():
    assert patterns("jane@a.example", "own") == {("jane@a.example", ()), ("jane+*@a.example", ())}


def test_sendable_as_lists_aliases_and_catch_alls_with_their_exceptions():
    assert patterns("jane@a.example", "aliases") == {
        ("jane@a.example", ()),
        ("jane+*@a.example", ()),
        ("info@a.example", ()),
        ("info+*@a.example", ()),
        ("team@a.example", ()),
        ("team+*@a.example", ()),
        ("*@b.example", ("bob@b.example",)),
    }


def test_sendable_as_knows_an_address_with_its_own_row_is_not_an_extension():
    assert ("sales+*@a.example", ("sales+eu@a.example",)) in patterns("john@a.example", "aliases")
    assert ("postmaster+*@a.example", ()) in patterns("john@a.example", "aliases")


CANDIDATES = [
    f"{local}@{domain}"
    for local, domain in itertools.product(
        ["jane", "john", "info", "team", "bob", "sales", "sales+eu", "sales+us", "postmaster", "postmaster+x",
         "nobody", "jane+x", "info+y", "bob+z", "mixed", "+lead", "empty"],
        ["a.example", "b.example", "c.example"],
    )
]


@pytest.mark.parametrize("query", ["own", "aliases"])
@pytest.mark.parametrize("login", ["jane@a.example", "john@a.example", "bob@b.example", "mixed@a.example"])
def test_sendable_as_agrees_with_may_send_on_every_candidate(login, query):
    granted = sendable_as(login, MAILBOXES, ALIASES, query=query)
    for address in CANDIDATES:
        by_patterns = any(matches(s, address) for s in granted)
        assert by_patterns == may_send(login, address, table(query)).allowed, (login, address, granted)


NAMES = {"myorigin": "mail.test", "local_domains": ["localhost", "[127.0.0.1]"]}


@pytest.mark.parametrize(
    "given, smtpd_form, resolved",
    [
        ('"sales"@d.example', "sales@d.example", "sales@d.example"),
        ('<"a+tag"@d.example>', "a+tag@d.example", "a+tag@d.example"),
        ('"a b"@d.example', "a b@d.example", "a b@d.example"),
        ("d.example!sales", "d.example!sales", "sales@d.example"),
        ("x!d.example!sales", "x!d.example!sales", "d.example!sales@x"),  # the first ! splits
        ("sales%d.example@localhost", "sales%d.example@localhost", "sales@d.example"),
        ("sales%d.example@[127.0.0.1]", "sales%d.example@[127.0.0.1]", "sales@d.example"),
        ("sales%d.example@other.example", "sales%d.example@other.example", "sales%d.example@other.example"),
        ("a%b%d.example", "a%b%d.example", "a%b@d.example"),  # the last % becomes @
        ("@relay:sales@d.example", "sales@d.example", "sales@d.example"),
        ("<@r1,@r2:sales@d.example>", "sales@d.example", "sales@d.example"),
        ("Sales@D.Example.", "Sales@D.Example.", "sales@d.example"),
        ("erin", "erin", "erin@mail.test"),
        ('"x@d.example"@localhost', "x@d.example@localhost", "x@d.example"),
        ("jane@localhost", "jane@localhost", "jane@localhost"),
    ],
)
def test_rewriting_follows_smtpd_and_trivial_rewrite(given, smtpd_form, resolved):
    rewriting = rewriting_of(given, **NAMES)
    assert (rewriting.address, rewriting.resolved, rewriting.syntax_ok) == (smtpd_form, resolved, True)


def test_without_myorigin_a_bare_sender_gets_myhostname_from_the_resolver():
    assert rewriting_of("erin", myhostname="host.test").resolved == "erin@host.test"


@pytest.mark.parametrize(
    "sender",
    [
        '"jane"+x@a.example',  # two words: a phrase and an address to tok822_parse
        "-jane@a.example",  # allow_min_user = no
        "sales@d.example..",  # dot-dot is left alone, and is no domain
        "jane@a..example",
        "jane@-a.example",
        "jane@1.2.3.4",  # a bare IP address is not a domain (resolve_numeric_domain = no)
        "jane@[300.0.0.1]",
    ],
)
def test_what_smtpd_refuses_at_mail_from_is_501_for_everyone(sender):
    for login in ("jane@a.example", None):
        decision = may_send(login, sender, table())
        assert postfix_reply(decision) == "501 5.1.7 Bad sender address syntax"
        assert not decision.allowed


@pytest.mark.parametrize(
    "address, keys",
    [
        ('"a b"@d.example', ['"a b"@d.example', "a b@d.example", "@d.example"]),
        ('"a b"+x@d.example', []),
        ('"a b+x"@d.example', ['"a b+x"@d.example', "a b+x@d.example", '"a b"@d.example', "a b@d.example", "@d.example"]),
        ('"a b"@mail.test', ['"a b"@mail.test', "a b@mail.test", '"a b"', "a b", "@mail.test"]),
        ("sales%d.example@localhost", ["sales@d.example", "@d.example"]),
    ],
)
def test_each_key_is_asked_quoted_first_then_as_it_is(address, keys):
    assert lookup_keys(address, **NAMES) == keys


def test_the_rejection_quotes_the_sender_as_smtpd_kept_it():
    decision = may_send("john@a.example", "@relay:\"jane\"@a.example", table())
    assert postfix_reply(decision) == "553 5.7.1 <jane@a.example>: Sender address rejected: not owned by user john@a.example"
