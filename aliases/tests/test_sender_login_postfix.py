"""The proof: aliases.sender_login gives the verdict the real Postfix gives, in both editions of
the guide (this machine's Postfix 3.7 and Dovecot 2.3, and the Trixie root's 3.10 and 2.4).

A private Postfix (a submission service per smtpd_sender_login_maps query: the guide's two and
a custom one; each as main.cf has it, with myorigin = a.example, and with recipient_delimiter = +-)
and a private Dovecot (SASL) read the test MariaDB database; for every (login, sender) pair the
model's verdict, asking the same database through the parametrised query, must equal
Postfix's reply at RCPT TO. Senders go out as raw `MAIL FROM:<...>` commands, so quoted local
parts, bang paths, the percent hack and source routes reach Postfix exactly as written.
"""

import pytest
from django.db import connection

from aliases.sender_login import QUERIES, lookup_keys, matches, may_send, postfix_reply, sendable_as, sql_lookup
from conftest import require_or_skip
from mailadmin.testing import dovecot as private_dovecot
from mailadmin.testing import postfix as private_postfix
from mailadmin.testing.dovecot import MailDatabase
from mailadmin.testing.postfix import SubmissionSession, private_mail_servers
from mailadmin.testing.trixie import MACHINE, missing_reason, trixie_root

pytestmark = [pytest.mark.postfix, pytest.mark.dovecot, pytest.mark.mariadb]

PASSWORD = "secret"

# The guide's DDL (ISPMAIL.md); a no-op where the migrations made the tables already.
GUIDE_DDL = [
    """CREATE TABLE IF NOT EXISTS `virtual_domains` (
     `id` int(11) NOT NULL auto_increment, `name` varchar(50) NOT NULL, PRIMARY KEY (`id`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8""",
    """CREATE TABLE IF NOT EXISTS `virtual_users` (
     `id` int(11) NOT NULL auto_increment, `domain_id` int(11) NOT NULL,
     `email` varchar(100) NOT NULL, `password` varchar(150) NOT NULL,
     `quota` bigint(11) NOT NULL DEFAULT 0, PRIMARY KEY (`id`), UNIQUE KEY `email` (`email`),
     FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8""",
    """CREATE TABLE IF NOT EXISTS `virtual_aliases` (
     `id` int(11) NOT NULL auto_increment, `domain_id` int(11) NOT NULL,
     `source` varchar(100) NOT NULL, `destination` varchar(100) NOT NULL, PRIMARY KEY (`id`),
     FOREIGN KEY (domain_id) REFERENCES virtual_domains(id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8""",
]

DOMAINS = ["a.example", "b.example", "c.example"]
MAILBOXES = [
    "jane@a.example",
    "john@a.example",
    "Mixed@a.example",  # stored with a capital; logs in and owns itself case-insensitively
    "sales+eu@a.example",  # an address with a delimiter that has its own row
    "bob@b.example",
    "carol@c.example",  # has its own row inside jane's catch-all domain
]
ALIASES = [
    ("info@a.example", "jane@a.example"),  # one alias, several destinations
    ("info@a.example", "john@a.example"),
    ("team@a.example", "jane@a.example"),
    ("team@a.example", "friend@external.example"),
    ("postmaster@a.example", "john@a.example"),
    ("sales@a.example", "john@a.example"),
    ("shout@a.example", "JANE@A.EXAMPLE"),  # destination in capitals
    ("list@a.example", "jane@a.example, john@a.example"),  # a legacy row listing two owners
    ("@c.example", "jane@a.example"),  # catch-all
    ("empty@c.example", ""),  # Postfix ignores an empty value: the catch-all answers instead
    ("@b.example", "bob@b.example"),
    ("sysop", "jane@a.example"),  # a bare key: only local domains ever ask it
    ("erin@a.example", "john@a.example"),  # a bare `erin` is this when myorigin = a.example
    ('"x y"@a.example', "jane@a.example"),  # stored quoted: Postfix asks the quoted form first
    ("z w@a.example", "john@a.example"),  # stored unquoted: found by the second, internal form
]

LOGINS = [
    "jane@a.example",
    "JANE@A.Example",
    "john@a.example",
    "mixed@a.example",
    "bob@b.example",
    "carol@c.example",
    None,  # no AUTH at all
]
SENDERS = [
    "jane@a.example",
    "Jane@A.Example",
    "jane+news@a.example",
    "jane+@a.example",
    "+jane@a.example",
    "jane+a+b@a.example",
    "john@a.example",
    "info@a.example",
    "Info+x@a.example",
    "team@a.example",
    "postmaster@a.example",
    "postmaster+x@a.example",
    "sales@a.example",
    "sales+eu@a.example",
    "sales+us@a.example",
    "shout@a.example",
    "list@a.example",
    "nobody@a.example",
    "Mixed@a.example",
    "anything@c.example",
    "carol@c.example",
    "carol+x@c.example",
    "empty@c.example",
    "x@b.example",
    "bob@b.example",
    "someone@external.example",
    "friend@external.example",
    "sysop@localhost",
    "jane@localhost",
    "sysop@mail.test",
    "sysop+x@mail.test",
    "",  # the null sender
]
# What Postfix rewrites before the lookup (aliases/sender_rewrite.py), sent as written.
REWRITTEN_SENDERS = [
    '"jane"@a.example',  # quotes removed
    '"sales"@a.example',
    '"info+tag"@a.example',  # quotes removed, then the extension
    '"jane"+x@a.example',
    '"x y"@a.example',  # the external form is asked first
    '"z w"@a.example',  # then the internal one
    '"x y"+ext@a.example',
    '"jane"+x@a.example',  # two words: smtpd answers 501
    "a.example!sales",  # bang path
    "a.example!jane",
    "a.example!info+x",
    "sales%a.example@localhost",  # percent hack on a local domain
    "jane%a.example@localhost",
    "sales%a.example@a.example",  # not on a virtual one
    "sales%a.example",  # an address without @ routes on its last %
    "a.example!sales@localhost",
    '"info@a.example"@localhost',  # a quoted local part with @ is opened
    "@relay.example:sales@a.example",  # source routes
    "@relay.example:john@a.example",
    "@r1.example,@r2.example:info@a.example",
    "sales@a.example.",  # trailing dot
    "jane@a.example.",
    "Sales@A.Example.",
    "jane@localhost.",
    "erin",  # bare: @$myorigin
    "sysop",
    "Sysop+x",
    "sysop@a.example",  # a local part alone is a key for the domain of $myorigin
    "erin@a.example",
    "sysop@mail.test.",
    "-jane@a.example",  # refused at MAIL FROM: 501
    "jane@a..example",
    "jane@-a.example",
    "jane@1.2.3.4",
    "jane@[127.0.0.1]",  # a local domain literal
    "jane@[300.0.0.1]",
]
# With recipient_delimiter = +- each of the two cuts an extension; the first one in the local part wins.
DELIMITER_SENDERS = [
    "jane-news@a.example",
    "info-x@a.example",
    "info-x+y@a.example",
    "sales-us@a.example",
    "sales+eu-x@a.example",  # cut at +: sales@a.example (john), although sales+eu has a row
    "-jane@a.example",
    "postmaster-x@a.example",
    "owner-info@a.example",  # owner_request_special: never split with - in the set
    "info-request@a.example",
]
MYORIGIN = "a.example"  # the "set" case; unset is Postfix's default, $myhostname
# Submission services besides main.cf's own (myorigin unset, recipient_delimiter = +).
VARIANTS = {"myorigin-set": {"myorigin": MYORIGIN}, "delimiters-+-": {"recipient_delimiter": "+-"}}
CUSTOM_QUERY = (
    "SELECT destination FROM virtual_aliases WHERE source='%s' "
    "AND domain_id IN (SELECT id FROM virtual_domains WHERE name='%d')"
)
QUERY_TEXTS = {**QUERIES, "custom": CUSTOM_QUERY}


def server_root(guide):
    """This machine's Postfix 3.7 and Dovecot 2.3 (Bookworm), or the Trixie root's 3.10 and 2.4."""
    if guide == "bookworm":
        return MACHINE
    reason = missing_reason()
    require_or_skip(reason is None, reason or "")
    return trixie_root()


@pytest.fixture(scope="module", params=["bookworm", "trixie"])
def mail_servers(request, django_db_setup, django_db_blocker):
    """One private Dovecot and one private Postfix per edition of the guide, on the test database."""
    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    root = server_root(request.param)
    missing = private_postfix.binaries_missing(root) + private_dovecot.binaries_missing(root)
    require_or_skip(not missing, f"missing {', '.join(missing)} in {root}")
    with django_db_blocker.unblock():
        database = MailDatabase.from_django(connection)
    with private_mail_servers(database, root=root, sender_login_queries=QUERY_TEXTS, variants=VARIANTS) as postfix:
        yield postfix


@pytest.fixture
def mail_rows(transactional_db):
    """The rows above, committed so that Postfix and Dovecot see them."""
    with connection.cursor() as cursor:
        for ddl in GUIDE_DDL:
            cursor.execute(ddl)
        for table in ("virtual_aliases", "virtual_users", "virtual_domains"):
            cursor.execute(f"DELETE FROM {table}")
        ids = {}
        for name in DOMAINS:
            cursor.execute("INSERT INTO virtual_domains (name) VALUES (%s)", [name])
            ids[name] = cursor.lastrowid
        for email in MAILBOXES:
            cursor.execute(
                "INSERT INTO virtual_users (domain_id, email, password) VALUES (%s, %s, %s)",
                [ids[email.rsplit("@", 1)[1].lower()], email, "{PLAIN}" + PASSWORD],
            )
        for source, destination in ALIASES:
            domain = source.rsplit("@", 1)[1] if "@" in source else "a.example"
            cursor.execute(
                "INSERT INTO virtual_aliases (domain_id, source, destination) VALUES (%s, %s, %s)",
                [ids[domain], source, destination],
            )


def database_lookup(query_text):
    def run(sql, params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return sql_lookup(run, query_text)


def postfix_replies(postfix, query_name, login, senders=SENDERS, variant=None):
    with SubmissionSession(postfix.port_for(query_name, variant), postfix.cert_file) as session:
        if login is not None:
            session.login(login, PASSWORD)
        return {sender: session.try_raw_sender(sender) for sender in senders}


def disagreements_with_postfix(postfix, query_name, variant, senders):
    """(pairs where the model's reply differs from Postfix's, every Postfix reply code)."""
    lookup = database_lookup(QUERY_TEXTS[query_name])
    disagreements, codes = [], []
    for login in LOGINS:
        replies = postfix_replies(postfix, query_name, login, senders, variant)
        # Dovecot's auth_username_format=%Lu lowercases the login it hands to Postfix.
        sasl_username = login.lower() if login else None
        for sender, reply in replies.items():
            decision = may_send(
                sasl_username,
                sender,
                lookup,
                delimiter=postfix.variant_value(variant, "recipient_delimiter", postfix.recipient_delimiter),
                local_domains=postfix.local_domains,
                myorigin=postfix.variant_value(variant, "myorigin", postfix.myhostname),
            )
            codes.append(reply.code)
            if str(reply) != postfix_reply(decision):
                disagreements.append(
                    f"login={login!r} sender=<{sender}>: model {postfix_reply(decision)!r} "
                    f"(key {decision.matched_key!r}, owners {decision.owners}); Postfix {str(reply)!r}"
                )
    return disagreements, codes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("query_name", ["own", "aliases", "custom"])
def test_the_model_gives_postfix_verdict_for_every_login_and_sender(mail_servers, mail_rows, query_name):
    disagreements, codes = disagreements_with_postfix(mail_servers, query_name, None, SENDERS)
    assert not disagreements, f"{len(disagreements)} of {len(codes)} pairs disagree:\n" + "\n".join(disagreements)
    # The matrix must exercise both answers, or agreeing would prove nothing.
    assert codes.count(250) >= 15 and codes.count(553) >= 15, codes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("variant", [None, "myorigin-set"], ids=["myorigin-default", "myorigin-set"])
@pytest.mark.parametrize("query_name", ["own", "aliases", "custom"])
def test_the_model_rewrites_senders_as_postfix_does(mail_servers, mail_rows, query_name, variant):
    disagreements, codes = disagreements_with_postfix(mail_servers, query_name, variant, REWRITTEN_SENDERS)
    assert not disagreements, f"{len(disagreements)} of {len(codes)} pairs disagree:\n" + "\n".join(disagreements)
    assert codes.count(250) >= 5 and codes.count(553) >= 5, codes


@pytest.mark.django_db(transaction=True)
def test_every_character_of_a_delimiter_set_cuts_an_extension_as_in_postfix(mail_servers, mail_rows):
    senders = [*DELIMITER_SENDERS, *(s for s in SENDERS if "+" in s)]
    disagreements, codes = disagreements_with_postfix(mail_servers, "aliases", "delimiters-+-", senders)
    assert not disagreements, f"{len(disagreements)} of {len(codes)} pairs disagree:\n" + "\n".join(disagreements)
    assert codes.count(250) >= 5 and codes.count(553) >= 5, codes


def test_every_rewrite_form_reaches_a_key_its_written_form_does_not():
    """The rewritten senders are not a matrix the plain model already passed: each changes the keys."""
    unchanged = [
        sender
        for sender in REWRITTEN_SENDERS
        if lookup_keys(sender, local_domains=("localhost",), myorigin=MYORIGIN)[:1] == [sender.lower()]
    ]
    # Quoted forms are asked first as written; the percent hack does not apply on a virtual
    # domain; the last two differ only in a later key (the local part alone, for $myorigin).
    assert unchanged == [
        '"x y"@a.example',
        '"z w"@a.example',
        "sales%a.example@a.example",
        "sysop@a.example",
        "erin@a.example",
        "jane@[127.0.0.1]",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("query_name", ["own", "aliases"])
def test_what_sendable_as_lists_is_what_postfix_accepts(mail_servers, mail_rows, query_name):
    local = {*mail_servers.local_domains, mail_servers.myhostname}
    virtual_senders = [s for s in SENDERS if s and s.rsplit("@", 1)[1].lower() not in local]
    disagreements = []
    for login in LOGINS:
        if login is None:
            continue
        granted = sendable_as(login, MAILBOXES, ALIASES, query=query_name)
        replies = postfix_replies(mail_servers, query_name, login)
        for sender in virtual_senders:
            listed = any(matches(pattern, sender) for pattern in granted)
            if listed != (replies[sender].code == 250):
                disagreements.append(f"login={login!r} sender=<{sender}>: listed={listed}; Postfix {replies[sender]}")
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.django_db(transaction=True)
def test_dovecot_refuses_a_wrong_password_so_logins_are_real(mail_servers, mail_rows):
    import smtplib

    with SubmissionSession(mail_servers.ports["own"], mail_servers.cert_file) as session:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            session.login("jane@a.example", "not-the-password")
