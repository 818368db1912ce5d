"""The two editions of the ISPmail guide a mail server may have been built from.

What differs for the panel is how the servers are configured, never the three tables:
- Bookworm (Debian 12: Postfix 3.7, Dovecot 2.3, MariaDB 10.11): /etc/postfix/mysql-*.cf, and
  Dovecot's dovecot-sql.conf.ext (`driver`, `connect`, `password_query` with `%u`,
  `quota_rule = *:bytes=N`).
- Trixie (Debian 13: Postfix 3.10, Dovecot 2.4, MariaDB 11.8): /etc/postfix/mariadb-*.cf (the
  map type is still `mysql:`), and conf.d/99-ispmail-sql.conf in Dovecot 2.4's syntax
  (`sql_driver`, a `mysql { }` block, `passdb sql { query = … '%{user}' }`, `userdb sql`,
  `quota_storage_size`).
No Django in this module: the test harness starts its private servers from the same data.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Guide:
    name: str
    debian: str
    postfix_version: str
    dovecot_version: str
    mariadb_version: str
    # Postfix's table files are named <prefix>virtual-mailbox-domains.cf and so on.
    cf_prefix: str
    # Dovecot's SQL file, relative to /etc/dovecot.
    dovecot_sql_file: str
    # The login name inside a Dovecot SQL query.
    dovecot_user: str
    # master.cf services where users submit mail (Trixie adds `submissions`, port 465).
    submission_services: tuple

    @property
    def dovecot_24(self):
        return self.dovecot_version.startswith("2.4")

    def cf_name(self, stem):
        return f"{self.cf_prefix}{stem}.cf"


BOOKWORM = Guide(
    name="bookworm",
    debian="Debian 12",
    postfix_version="3.7",
    dovecot_version="2.3",
    mariadb_version="10.11",
    cf_prefix="mysql-",
    dovecot_sql_file="dovecot-sql.conf.ext",
    dovecot_user="%u",
    submission_services=("submission",),
)
TRIXIE = Guide(
    name="trixie",
    debian="Debian 13",
    postfix_version="3.10",
    dovecot_version="2.4",
    mariadb_version="11.8",
    cf_prefix="mariadb-",
    dovecot_sql_file="conf.d/99-ispmail-sql.conf",
    dovecot_user="%{user}",
    submission_services=("submission", "submissions"),
)
GUIDES = {guide.name: guide for guide in (BOOKWORM, TRIXIE)}


def guide_named(name):
    try:
        return GUIDES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"Unknown ISPmail guide {name!r}: use one of {', '.join(GUIDES)}.") from None
