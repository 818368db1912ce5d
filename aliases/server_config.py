"""The server's SQL configuration for the panel's current database, in the syntax of the guide's
edition (MAILADMIN_GUIDE): Postfix's mysql-*.cf (Bookworm) or mariadb-*.cf (Trixie) files, and
Dovecot's dovecot-sql.conf.ext (2.3) or conf.d/99-ispmail-sql.conf (2.4), with the same queries
the panel's previews run.

Postfix and Dovecot read with the guide's read-only account (MAILADMIN_SERVER_DB_USER, the
guide's `mailserver`), never with the panel's own read-write account. Its password is a
placeholder unless the caller hands one in (`postfix-config --password-stdin`); the panel's own
database password is never shown.

Dovecot's pieces are built from small functions (`dovecot_connection`, `dovecot_query`) so other
Dovecot snippets that read the same database (a quota_clone dict, say) are written beside these
in both syntaxes.
"""

from dataclasses import dataclass

from django.conf import settings

from aliases import postfix_config
from aliases.guides import guide_named
from aliases.sender_rights import lookup_config

PASSWORD_PLACEHOLDER = "REPLACE-WITH-THE-DATABASE-PASSWORD"
POSTFIX_DIR = "/etc/postfix"
DOVECOT_DIR = "/etc/dovecot"
# The guide's vmail user and group own /var/vmail (Bookworm gives them uid and gid 5000;
# Trixie makes vmail a system user and sets mail_uid/mail_gid by name).
VMAIL_UID = VMAIL_GID = 5000
# What Dovecot 2.4's passdb refuses while auth_allow_weak_schemes is no (its default), as seen
# on Trixie's 2.4.1 (users/tests/test_dovecot_editions.py).
DOVECOT_24_WEAK_SCHEMES = (
    "MD5-CRYPT", "DES-CRYPT", "MD5", "PLAIN-MD5", "PLAIN-MD4", "LDAP-MD5", "SMD5", "HMAC-MD5",
)  # fmt: skip


def current_guide():
    return guide_named(settings.MAILADMIN_GUIDE)


@dataclass(frozen=True)
class ConfigFile:
    directory: str
    name: str
    text: str
    purpose: str

    @property
    def path(self):
        return f"{self.directory}/{self.name}"


@dataclass(frozen=True)
class Target:
    """Where Postfix and Dovecot find the tables, and the account they read them with."""

    dbname: str
    host: str
    port: int | None
    user: str
    is_mysql: bool


def database_target(user=None):
    """The panel's database, read by `user` (default: MAILADMIN_SERVER_DB_USER, read-only)."""
    user = user or settings.MAILADMIN_SERVER_DB_USER
    db = settings.DATABASES["default"]
    is_mysql = db["ENGINE"] == "django.db.backends.mysql"
    if not is_mysql:
        # SQLite: the servers cannot read it; the files show the guide's names instead.
        return Target("mailserver", "127.0.0.1", None, user, False)
    port = int(db["PORT"]) if db.get("PORT") else None
    host = db.get("HOST") or "127.0.0.1"
    # "localhost" means the socket to MariaDB's client library; Postfix runs chrooted in
    # /var/spool/postfix and cannot reach it, which is why the guide says 127.0.0.1.
    return Target(db["NAME"], "127.0.0.1" if host == "localhost" else host, port, user, True)


def _password(password):
    return password if password is not None else PASSWORD_PLACEHOLDER


# --- Postfix ----------------------------------------------------------------------------------


def sender_login_file(guide=None):
    guide = guide or current_guide()
    config = lookup_config()
    files = postfix_config.sender_login_files(guide)
    if config.name in files:
        return files[config.name]
    return guide.cf_name(postfix_config.CUSTOM_SENDER_LOGIN_STEM), config.text


def postfix_files(password=None, target=None, guide=None):
    guide = guide or current_guide()
    target = target or database_target()
    sender_file, sender_query = sender_login_file(guide)
    queries = [
        *[(name, query, "virtual_mailbox_domains, virtual_mailbox_maps, virtual_alias_maps") for name, query in
          postfix_config.guide_files(guide).items()],
        (sender_file, sender_query, "smtpd_sender_login_maps (the query the panel's sending pages use)"),
    ]
    return [
        ConfigFile(
            POSTFIX_DIR,
            name,
            postfix_config.render_postfix_mysql_cf(
                query,
                user=target.user,
                password=_password(password),
                hosts=postfix_config.mysql_hosts(target.host, target.port),
                dbname=target.dbname,
            ),
            purpose,
        )
        for name, query, purpose in queries
    ]


def main_cf_lines(guide=None):
    """The lines of main.cf and master.cf that name the files above."""
    guide = guide or current_guide()
    sender_file, _ = sender_login_file(guide)
    cf = f"mysql:{POSTFIX_DIR}"  # the map type stays mysql: on Trixie, only the file names change

    def path(stem):
        return f"{cf}/{guide.cf_name(stem)}"

    delimiter = settings.MAILADMIN_RECIPIENT_DELIMITER
    services = " and ".join(guide.submission_services)
    return [
        f"virtual_mailbox_domains = {path('virtual-mailbox-domains')}",
        f"virtual_mailbox_maps = {path('virtual-mailbox-maps')}",
        f"virtual_alias_maps = {path('virtual-alias-maps')}, {path('email2email')}",
        f"recipient_delimiter = {delimiter}" if delimiter else "# recipient_delimiter is unset",
        f"# master.cf, each of the services {services}:",
        f"  -o smtpd_sender_login_maps={cf}/{sender_file}",
        "  -o smtpd_sender_restrictions=reject_sender_login_mismatch,permit_sasl_authenticated,reject",
    ]


# --- Dovecot ----------------------------------------------------------------------------------


def dovecot_query(sql, guide):
    """A query written with `{user}` where Dovecot puts the login name: %u on 2.3, %{user} on 2.4."""
    return sql.replace("{user}", guide.dovecot_user)


def password_query(guide):
    # `email AS user` makes the stored, canonical address the login name from here on, as the
    # guide's query does: without it the SASL name Postfix checks senders against is whatever
    # the client typed (MariaDB compares case-insensitively and ignores trailing blanks).
    return dovecot_query("SELECT email AS user, password FROM virtual_users WHERE email='{user}'", guide)


def user_query(guide):
    if guide.dovecot_24:
        # 2.4 takes the limit as quota_storage_size, a size with a unit; 0 means unlimited as
        # the column's 0 does. Home, uid and gid come from mail_home/mail_uid/mail_gid, set
        # globally in the guide's 99-ispmail-mail.conf.
        return dovecot_query(
            "SELECT email AS user, CONCAT(quota, 'B') AS quota_storage_size "
            "FROM virtual_users WHERE email='{user}'",
            guide,
        )
    home = f"{settings.MAILADMIN_VMAIL_ROOT.rstrip('/')}/%d/%n"
    return dovecot_query(
        "SELECT email AS user, CONCAT('*:bytes=', quota) AS quota_rule, "
        f"'{home}' AS home, {VMAIL_UID} AS uid, {VMAIL_GID} AS gid "
        "FROM virtual_users WHERE email='{user}'",
        guide,
    )


ITERATE_QUERY = "SELECT email AS user FROM virtual_users"


def _check_dovecot_value(name, value, guide):
    if guide.dovecot_24:
        # A 2.4 value is written in double quotes; "%{" would start a variable in it.
        if any(ch in value for ch in '"\\\n\r') or "%" in value:
            raise ValueError(f"The database {name} cannot contain \", \\, % or a line break in Dovecot's configuration.")
    elif any(ch.isspace() for ch in value):
        # Dovecot 2.3 splits `connect` on white space and has no quoting for a value.
        raise ValueError(f"The database {name} cannot contain white space in Dovecot's connect string.")


def dovecot_connection(password=None, target=None, guide=None):
    """How Dovecot reaches the database: 2.3's `driver`/`connect` lines, or 2.4's `sql_driver`
    and `mysql { }` block. Any Dovecot SQL snippet of the panel starts with these lines."""
    guide = guide or current_guide()
    target = target or database_target()
    password = _password(password)
    for name, value in (("dbname", target.dbname), ("user", target.user), ("password", password)):
        _check_dovecot_value(name, value, guide)
    if guide.dovecot_24:
        lines = ["sql_driver = mysql", f"mysql {target.host} {{"]
        if target.port:
            lines.append(f"  port = {target.port}")
        lines += [f"  dbname = {target.dbname}", f"  user = {target.user}", f'  password = "{password}"', "}"]
        return "\n".join(lines) + "\n"
    connect = f"host={target.host}"
    if target.port:
        connect += f" port={target.port}"
    connect += f" dbname={target.dbname} user={target.user} password={password}"
    return f"driver = mysql\nconnect = {connect}\n"


def _default_scheme_lines(guide):
    scheme = settings.MAILADMIN_DEFAULT_PASS_SCHEME
    if guide.dovecot_24:
        # 2.4's default is PLAIN: a value without a prefix would be compared as cleartext (a
        # stored "$1$…" hash would itself be a working password). Always say which scheme.
        return (
            "  # How a stored value without a {SCHEME} prefix is read (MAILADMIN_DEFAULT_PASS_SCHEME);\n"
            "  # Dovecot 2.4 would read it as PLAIN. Every password the panel writes carries its prefix.\n"
            "  # 2.4 refuses weak schemes at login (auth_allow_weak_schemes = no): rows still stored as\n"
            f"  # {', '.join(DOVECOT_24_WEAK_SCHEMES)}\n"
            "  # log in again once their users set a new password, or with auth_allow_weak_schemes = yes.\n"
            f"  default_password_scheme = {scheme}\n"
        )
    if scheme == "MD5":
        return (
            "# default_pass_scheme is left unset: Dovecot 2.3's SQL driver then reads a value without a\n"
            "# {SCHEME} prefix as MD5 (MD5-CRYPT for $1$…, otherwise hex PLAIN-MD5), as the panel does.\n"
            "# Every password the panel writes carries its prefix ({" + settings.MAILADMIN_PASSWORD_SCHEME + "} now).\n"
            "#default_pass_scheme = MD5\n"
        )
    return (
        "# The panel reads a value without a {SCHEME} prefix as " + scheme + " "
        "(MAILADMIN_DEFAULT_PASS_SCHEME); Dovecot must agree.\n"
        f"default_pass_scheme = {scheme}\n"
    )


def dovecot_sql_conf(password=None, target=None, guide=None):
    guide = guide or current_guide()
    connection = dovecot_connection(password, target, guide)
    if guide.dovecot_24:
        text = (
            "# Dovecot 2.4's SQL passdb and userdb, as the guide's conf.d/99-ispmail-sql.conf\n"
            "# (mode 0600, root). mail_home, mail_uid and mail_gid stay in 99-ispmail-mail.conf.\n"
            f"{connection}"
            "passdb sql {\n"
            f"{_default_scheme_lines(guide)}"
            f"  query = {password_query(guide)}\n"
            "}\n"
            "userdb sql {\n"
            "  # quota_storage_size: the quota column in bytes (B), 0 = unlimited; it takes effect\n"
            "  # where the quota plugin is enabled.\n"
            f"  query = {user_query(guide)}\n"
            f"  iterate_query = {ITERATE_QUERY}\n"
            "}\n"
        )
        directory, name = DOVECOT_DIR + "/conf.d", guide.dovecot_sql_file.rsplit("/", 1)[-1]
    else:
        text = (
            "# Dovecot's SQL passdb and userdb (conf.d/auth-sql.conf.ext reads this file).\n"
            f"{connection}"
            f"{_default_scheme_lines(guide)}"
            f"password_query = {password_query(guide)}\n"
            "# quota is in bytes, 0 = unlimited.\n"
            f"user_query = {user_query(guide)}\n"
            f"iterate_query = {ITERATE_QUERY}\n"
        )
        directory, name = DOVECOT_DIR, guide.dovecot_sql_file
    return ConfigFile(directory, name, text, "passdb and userdb")



# --- Quota usage for the panel: Dovecot 2.3 (Bookworm) and 2.4 (Trixie) ----------------------

QUOTA_USAGE_TABLE = "quota_usage"
QUOTA_DICT_NAME = "mailadmin_quota"


def dovecot_quota_usage_files_23(
    password=None, target=None, *, config_dir=DOVECOT_DIR, dict_socket_user="vmail", dict_socket_group="vmail"
):
    """conf.d/11-mailadmin-quota-usage.conf and dovecot-dict-sql.conf.ext: the count quota with
    the user query's quota_rule, and quota_clone copying each user's usage into quota_usage
    through the dict service (users.models.QuotaUsage). `config_dir` and the socket's owner
    let the tests' private Dovecot use the same text in a temporary directory."""
    target = target or database_target()
    password = password if password is not None else PASSWORD_PLACEHOLDER
    for name, value in (("dbname", target.dbname), ("user", target.user), ("password", password)):
        if any(ch.isspace() for ch in value):
            raise ValueError(f"The database {name} cannot contain white space in Dovecot's connect string.")
    connect = f"host={target.host}" + (f" port={target.port}" if target.port else "")
    connect += f" dbname={target.dbname} user={target.user} password={password}"
    dict_conf = ConfigFile(
        config_dir,
        "dovecot-dict-sql.conf.ext",
        "# Dovecot's dict service writes each user's quota usage into the panel's table with\n"
        f"# INSERT … ON DUPLICATE KEY UPDATE: this account needs SELECT, INSERT and UPDATE on\n"
        f"# {QUOTA_USAGE_TABLE} (without SELECT MariaDB refuses the upsert and mail is still delivered).\n"
        f"connect = {connect}\n"
        + "".join(
            f"map {{\n  pattern = priv/quota/{key}\n  table = {QUOTA_USAGE_TABLE}\n"
            f"  username_field = email\n  value_field = {column}\n}}\n"
            for key, column in (("storage", "bytes"), ("messages", "messages"))
        ),
        "the dict that writes quota usage into the panel's quota_usage table",
    )
    plugin_conf = ConfigFile(
        f"{config_dir}/conf.d",
        "11-mailadmin-quota-usage.conf",
        f"""\
# Quota usage for the panel (Dovecot 2.3). Read after 10-mail.conf and before 20-imap.conf and
# 20-lmtp.conf on purpose: their `mail_plugins = $mail_plugins …` copy the value as it is when
# they are read, so a plugin added in a later file never reaches IMAP or LMTP. Naming quota
# again after the guide's 10-mail.conf is harmless.
mail_plugins = $mail_plugins quota quota_clone

plugin {{
  # The limit is the user query's quota_rule (*:bytes=<virtual_users.quota>, 0 = unlimited).
  quota = count:User quota
  # The count backend requires virtual sizes.
  quota_vsizes = yes
  quota_clone_dict = proxy::{QUOTA_DICT_NAME}
}}

dict {{
  {QUOTA_DICT_NAME} = mysql:{dict_conf.path}
}}

# The mail processes (user {dict_socket_user}) write through the dict service's socket.
service dict {{
  unix_listener dict {{
    mode = 0660
    user = {dict_socket_user}
    group = {dict_socket_group}
  }}
}}
""",
        "quota and quota_clone: Dovecot reports each mailbox's usage to the panel",
    )
    return [plugin_conf, dict_conf]


def _indented(text, spaces):
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(keepends=True))


def dovecot_quota_usage_files_24(password=None, target=None, *, config_dir=DOVECOT_DIR, dict_socket_user="vmail",
                                 dict_socket_group="vmail"):
    """conf.d/91-mailadmin-quota-usage.conf in Dovecot 2.4's syntax: the count quota, whose limit
    is the user query's quota_storage_size, and quota_clone writing each user's usage into
    quota_usage through the dict server. One file: 2.4 reads every setting through its config
    process (root), so the database password sits in it, mode 0600 like 99-ispmail-sql.conf."""
    guide = guide_named("trixie")
    connection = dovecot_connection(password, target, guide)
    maps = "".join(
        f"  dict_map priv/quota/{key} {{\n    sql_table = {QUOTA_USAGE_TABLE}\n    username_field = email\n"
        f"    value_field {column} {{\n      type = uint\n    }}\n  }}\n"
        for key, column in (("storage", "bytes"), ("messages", "messages"))
    )
    text = f"""\
# Quota usage for the panel (Dovecot 2.4, the guide's Trixie edition). mail_plugins is a list
# in 2.4: the plugins named here are added to those of every protocol.
mail_plugins {{
  quota = yes
  quota_clone = yes
}}

# The limit is the user query's quota_storage_size (<virtual_users.quota>B, 0 = unlimited).
quota "User quota" {{
  driver = count
}}

# quota_clone copies each user's usage (bytes and messages) through the dict server.
quota_clone {{
  dict proxy {{
    dict_proxy_name = {QUOTA_DICT_NAME}
  }}
}}

# The dict server writes quota_usage with INSERT … ON DUPLICATE KEY UPDATE: its account needs
# SELECT, INSERT and UPDATE on {QUOTA_USAGE_TABLE} (without SELECT MariaDB refuses the upsert and
# mail is still delivered).
dict_server {{
  dict {QUOTA_DICT_NAME} {{
    driver = sql
{_indented(connection, 4)}{_indented(maps, 2)}  }}
}}

# The mail processes (user {dict_socket_user}) write through the dict server's socket.
service dict {{
  unix_listener dict {{
    mode = 0660
    user = {dict_socket_user}
    group = {dict_socket_group}
  }}
}}
"""
    return [ConfigFile(f"{config_dir}/conf.d", "91-mailadmin-quota-usage.conf", text,
                       "quota and quota_clone: Dovecot reports each mailbox's usage to the panel")]


def dovecot_quota_usage_files(password=None, target=None, guide=None, **options):
    """The quota-usage snippet in the syntax of the guide's edition."""
    guide = guide or current_guide()
    if guide.dovecot_24:
        return dovecot_quota_usage_files_24(password, target, **options)
    return dovecot_quota_usage_files_23(password, target, **options)


def all_files(password=None, target=None, guide=None):
    guide = guide or current_guide()
    return [*postfix_files(password, target, guide), dovecot_sql_conf(password, target, guide),
            *dovecot_quota_usage_files(password, target, guide)]
