"""The server's SQL configuration for the panel's current database: Postfix's mysql-*.cf files
and Dovecot's dovecot-sql.conf.ext, with the same queries the panel's previews run.

The password is a placeholder unless the caller hands one in (`postfix-config --password-stdin`);
the panel's own database password is never shown.
"""

from dataclasses import dataclass

from django.conf import settings

from aliases import postfix_config
from aliases.sender_rights import lookup_config

PASSWORD_PLACEHOLDER = "REPLACE-WITH-THE-DATABASE-PASSWORD"
POSTFIX_DIR = "/etc/postfix"
DOVECOT_DIR = "/etc/dovecot"

DOVECOT_PASSWORD_QUERY = "SELECT password FROM virtual_users WHERE email='%u'"
# The guide's vmail user and group own /var/vmail.
VMAIL_UID = VMAIL_GID = 5000


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
    """Where Postfix and Dovecot find the tables, as the panel's settings say."""

    dbname: str
    host: str
    port: int | None
    user: str
    is_mysql: bool


def database_target():
    db = settings.DATABASES["default"]
    is_mysql = db["ENGINE"] == "django.db.backends.mysql"
    if not is_mysql:
        # SQLite: the servers cannot read it; the files show the guide's names instead.
        return Target("mailserver", "127.0.0.1", None, "mailserver", False)
    port = int(db["PORT"]) if db.get("PORT") else None
    return Target(db["NAME"], db.get("HOST") or "127.0.0.1", port, db.get("USER") or "mailserver", True)


def sender_login_file():
    config = lookup_config()
    if config.name in postfix_config.SENDER_LOGIN_FILES:
        return postfix_config.SENDER_LOGIN_FILES[config.name]
    return "mysql-sender-login-maps.cf", config.text


def postfix_files(password=None, target=None):
    target = target or database_target()
    sender_file, sender_query = sender_login_file()
    queries = [
        *[(name, query, "virtual_mailbox_domains, virtual_mailbox_maps, virtual_alias_maps") for name, query in
          postfix_config.GUIDE_FILES.items()],
        (sender_file, sender_query, "smtpd_sender_login_maps (the query the panel's sending pages use)"),
    ]
    return [
        ConfigFile(
            POSTFIX_DIR,
            name,
            postfix_config.render_postfix_mysql_cf(
                query,
                user=target.user,
                password=password if password is not None else PASSWORD_PLACEHOLDER,
                hosts=postfix_config.mysql_hosts(target.host, target.port),
                dbname=target.dbname,
            ),
            purpose,
        )
        for name, query, purpose in queries
    ]


def dovecot_user_query():
    home = f"{settings.MAILADMIN_VMAIL_ROOT.rstrip('/')}/%d/%n"
    return (
        "SELECT email AS user, CONCAT('*:bytes=', quota) AS quota_rule, "
        f"'{home}' AS home, {VMAIL_UID} AS uid, {VMAIL_GID} AS gid "
        "FROM virtual_users WHERE email='%u'"
    )


def dovecot_sql_conf(password=None, target=None):
    target = target or database_target()
    password = password if password is not None else PASSWORD_PLACEHOLDER
    for name, value in (("dbname", target.dbname), ("user", target.user), ("password", password)):
        # Dovecot splits `connect` on white space and has no quoting for a value.
        if any(ch.isspace() for ch in value):
            raise ValueError(f"The database {name} cannot contain white space in Dovecot's connect string.")
    connect = f"host={target.host}"
    if target.port:
        connect += f" port={target.port}"
    connect += f" dbname={target.dbname} user={target.user} password={password}"
    scheme = settings.MAILADMIN_DEFAULT_PASS_SCHEME
    if scheme == "MD5-CRYPT":
        scheme_lines = (
            "# default_pass_scheme is left unset: Dovecot's SQL driver then reads a value without a\n"
            "# {SCHEME} prefix as MD5-CRYPT, as the panel does. Every password the panel writes carries\n"
            "# its prefix ({" + settings.MAILADMIN_PASSWORD_SCHEME + "} now).\n"
            "#default_pass_scheme = MD5-CRYPT\n"
        )
    else:
        scheme_lines = (
            "# The panel reads a value without a {SCHEME} prefix as " + scheme + " "
            "(MAILADMIN_DEFAULT_PASS_SCHEME); Dovecot must agree.\n"
            f"default_pass_scheme = {scheme}\n"
        )
    text = (
        "# Dovecot's SQL passdb and userdb (conf.d/auth-sql.conf.ext reads this file).\n"
        "driver = mysql\n"
        f"connect = {connect}\n"
        f"{scheme_lines}"
        f"password_query = {DOVECOT_PASSWORD_QUERY}\n"
        "# quota is in bytes, 0 = unlimited.\n"
        f"user_query = {dovecot_user_query()}\n"
        "iterate_query = SELECT email AS user FROM virtual_users\n"
    )
    return ConfigFile(DOVECOT_DIR, "dovecot-sql.conf.ext", text, "passdb and userdb")


def main_cf_lines():
    """The lines of main.cf and master.cf that name the files above."""
    sender_file, _ = sender_login_file()
    cf = f"mysql:{POSTFIX_DIR}"
    delimiter = settings.MAILADMIN_RECIPIENT_DELIMITER
    return [
        f"virtual_mailbox_domains = {cf}/mysql-virtual-mailbox-domains.cf",
        f"virtual_mailbox_maps = {cf}/mysql-virtual-mailbox-maps.cf",
        f"virtual_alias_maps = {cf}/mysql-virtual-alias-maps.cf, {cf}/mysql-email2email.cf",
        f"recipient_delimiter = {delimiter}" if delimiter else "# recipient_delimiter is unset",
        "# master.cf, submission service:",
        f"  -o smtpd_sender_login_maps={cf}/{sender_file}",
        "  -o smtpd_sender_restrictions=reject_sender_login_mismatch,permit_sasl_authenticated,reject",
    ]


# --- Quota usage for the panel: Dovecot 2.3 (the guide's Bookworm edition) -------------------
# A Dovecot 2.4 variant (quota_storage_size, renamed quota settings) belongs beside this one.

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


def all_files(password=None, target=None):
    return [
        *postfix_files(password, target),
        dovecot_sql_conf(password, target),
        *dovecot_quota_usage_files_23(password, target),
    ]
