"""The Postfix `mysql:` table files the guide's server reads, rendered from one place.

The private Postfix in the tests and the panel's configuration preview both render their .cf
files here, so the queries the tests prove are the queries the admins are shown.
No Django in this module.
"""

from aliases.guides import BOOKWORM
from aliases.sender_login import ALIASES_QUERY, OWN_QUERY

MAILBOX_DOMAINS_QUERY = "SELECT 1 FROM virtual_domains WHERE name='%s'"
MAILBOX_MAPS_QUERY = "SELECT 1 FROM virtual_users WHERE email='%s'"
ALIAS_MAPS_QUERY = "SELECT destination FROM virtual_aliases WHERE source='%s'"
EMAIL2EMAIL_QUERY = "SELECT email FROM virtual_users WHERE email='%s'"

# The name of each file under /etc/postfix without the edition's prefix (mysql- on Bookworm,
# mariadb- on Trixie) and ".cf" -> its query. Both editions ask the same queries.
GUIDE_QUERIES = {
    "virtual-mailbox-domains": MAILBOX_DOMAINS_QUERY,
    "virtual-mailbox-maps": MAILBOX_MAPS_QUERY,
    "virtual-alias-maps": ALIAS_MAPS_QUERY,
    "email2email": EMAIL2EMAIL_QUERY,
}

# The two smtpd_sender_login_maps variants ("own address only" and "own address and aliases").
SENDER_LOGIN_QUERIES = {
    "own": ("sender-login-maps-own", OWN_QUERY),
    "aliases": ("sender-login-maps", ALIASES_QUERY),
}
CUSTOM_SENDER_LOGIN_STEM = "sender-login-maps"


def guide_files(guide=BOOKWORM):
    """File name -> query, as the guide's edition names the files under /etc/postfix."""
    return {guide.cf_name(stem): query for stem, query in GUIDE_QUERIES.items()}


def sender_login_files(guide=BOOKWORM):
    return {name: (guide.cf_name(stem), query) for name, (stem, query) in SENDER_LOGIN_QUERIES.items()}


# Bookworm's names, as the harness and older callers know them.
GUIDE_FILES = guide_files(BOOKWORM)
SENDER_LOGIN_FILES = sender_login_files(BOOKWORM)


def mysql_hosts(host="127.0.0.1", port=None):
    """One entry of a .cf `hosts` line; Postfix spells a TCP port as inet:host:port."""
    if port and int(port) != 3306:
        return f"inet:{host}:{int(port)}"
    return host


def render_postfix_mysql_cf(query, *, user, password, hosts, dbname):
    """The text of a Postfix mysql_table(5) file.

    `hosts` is a string or a list of strings (see mysql_hosts). A .cf line cannot hold a
    newline, so a value with one is refused rather than written as a broken file.
    """
    if not isinstance(hosts, str):
        hosts = " ".join(hosts)
    values = {"user": user, "password": password or "", "hosts": hosts, "dbname": dbname, "query": query}
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"The {name} of a Postfix .cf file cannot contain a line break.")
    return "".join(f"{name} = {value}\n" for name, value in values.items())
