"""The Postfix `mysql:` table files the guide's server reads, rendered from one place.

The private Postfix in the tests and the panel's configuration preview both render their .cf
files here, so the queries the tests prove are the queries the admins are shown.
No Django in this module.
"""

from aliases.sender_login import ALIASES_QUERY, OWN_QUERY

MAILBOX_DOMAINS_QUERY = "SELECT 1 FROM virtual_domains WHERE name='%s'"
MAILBOX_MAPS_QUERY = "SELECT 1 FROM virtual_users WHERE email='%s'"
ALIAS_MAPS_QUERY = "SELECT destination FROM virtual_aliases WHERE source='%s'"
EMAIL2EMAIL_QUERY = "SELECT email FROM virtual_users WHERE email='%s'"

# File name -> query, as the guide names the files under /etc/postfix.
GUIDE_FILES = {
    "mysql-virtual-mailbox-domains.cf": MAILBOX_DOMAINS_QUERY,
    "mysql-virtual-mailbox-maps.cf": MAILBOX_MAPS_QUERY,
    "mysql-virtual-alias-maps.cf": ALIAS_MAPS_QUERY,
    "mysql-email2email.cf": EMAIL2EMAIL_QUERY,
}

# The two smtpd_sender_login_maps variants ("own address only" and "own address and aliases").
SENDER_LOGIN_FILES = {
    "own": ("mysql-sender-login-maps-own.cf", OWN_QUERY),
    "aliases": ("mysql-sender-login-maps.cf", ALIASES_QUERY),
}


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
