"""Who may send as what: Postfix 3.7's reject_sender_login_mismatch, modelled exactly.

No Django in here. A caller supplies `lookup(key) -> rows`, a function that runs the
smtpd_sender_login_maps query for one key (see `sql_for` for a parametrised form of the
query) and returns the values of its rows; everything else follows Postfix's source:

- smtpd_check.c reject_auth_sender_login_mismatch(): the null sender is never checked; the
  owners are split on commas and white space; the login is compared case-insensitively.
- smtpd_resolve.c: the key is the address as trivial-rewrite resolves it, case-folded
  (a bare local part gets @$myorigin).
- mail_addr_find.c with MA_FIND_DEFAULT: full address, address without extension, local
  part alone (local domains only, with and without extension), @domain. The first key
  that finds anything wins; later keys are never asked.
- strip_addr.c/split_addr.c: the extension starts at the first character of
  recipient_delimiter (a set of characters) in the local part; never for a local part that
  starts with one, nor for postmaster, MAILER-DAEMON, double-bounce, owner-*, *-request.
- dict_mysql.c/db_common.c: every column of every row is appended with commas; NULL and
  empty values are skipped, and a key whose values are all skipped is "not found".
"""

from dataclasses import dataclass, field
from functools import partial

from aliases.sender_rewrite import PostfixNames, Rewriting, fold, query_forms, rewrite

OWN_QUERY = "SELECT email FROM virtual_users WHERE email='%s'"
ALIASES_QUERY = (
    "SELECT email FROM virtual_users WHERE email='%s' "
    "UNION SELECT destination FROM virtual_aliases WHERE source='%s'"
)
QUERIES = {"own": OWN_QUERY, "aliases": ALIASES_QUERY}

# mystrtok(&cp, CHARS_COMMA_SP) in reject_auth_sender_login_mismatch().
_OWNER_SEPARATORS = ", \t\r\n"
# split_addr.c never splits these local parts, whatever the delimiter.
_NEVER_SPLIT = ("postmaster", "mailer-daemon", "double-bounce")


def collation_key(value):
    """A stored value as the guide's MariaDB columns compare it: utf8_general_ci is
    case-insensitive and PAD SPACE, so `'info@a.example '` = `'INFO@a.example'` in a WHERE,
    a UNION or a unique key. Rows read back keep their blanks; group and compare them by this."""
    return fold(value).rstrip(" ")


def canonical_sender(address, *, myorigin=None, myhostname=None, local_domains=()):
    """The key Postfix starts from: the address after smtpd, trivial-rewrite and casefold()."""
    return rewriting_of(address, myorigin=myorigin, myhostname=myhostname, local_domains=local_domains).resolved


def rewriting_of(address, *, myorigin=None, myhostname=None, local_domains=()):
    """The sender_rewrite.Rewriting of `address` under these main.cf settings."""
    names = PostfixNames(myorigin or "", myhostname or "", tuple(local_domains))
    return rewrite(address, names)


def strip_extension(address, delimiter="+"):
    """(address without extension, extension with its delimiter), or (None, None) if none."""
    if not delimiter:
        return None, None
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    if fold(local) in _NEVER_SPLIT:
        return None, None
    # owner_request_special=yes (the default) protects list addresses when '-' is a delimiter.
    if "-" in delimiter and (fold(local).startswith("owner-") or (len(local) > 8 and fold(local).endswith("-request"))):
        return None, None
    cut = next((i for i, ch in enumerate(local) if ch in delimiter), None)
    if not cut:  # no delimiter at all, or the local part starts with one
        return None, None
    return local[:cut] + at + domain, local[cut:]


def lookup_keys(address, *, delimiter="+", local_domains=(), myorigin=None, myhostname=None):
    """The keys Postfix asks for, in its order (mail_addr_find with MA_FIND_DEFAULT).

    `address` is rewritten first (aliases.sender_rewrite). `local_domains` are the domains
    for which Postfix also tries the bare local part: $mydestination and the [addresses] of
    inet_interfaces/proxy_interfaces; $myorigin is one too. Virtual domains are never among
    them. Each key is asked in external (quoted) form first, then as it is when that differs.
    """
    names = PostfixNames(myorigin or "", myhostname or "", tuple(local_domains))
    full = rewrite(address, names).resolved
    if not full:
        return []
    bare, _ = strip_extension(full, delimiter)
    keys = [*query_forms(full), *(query_forms(bare) if bare else [])]
    local, at, domain = full.rpartition("@")
    if at:
        if domain == fold(myorigin or "") or names.is_local(domain):
            keys += query_forms(local, with_domain=False)
            if bare:
                keys += query_forms(bare.rpartition("@")[0], with_domain=False)
        keys.append("@" + domain)
    # maps_find() skips an empty key, and a key that repeats can only repeat the answer.
    return [key for i, key in enumerate(keys) if key and key not in keys[:i]]


def _values(rows):
    for row in rows:
        for value in row if isinstance(row, (tuple, list)) else (row,):
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            if value is not None and value != "":
                yield str(value)


def expansion(rows):
    """What the mysql table returns for the rows of one query: values joined by commas, or None."""
    joined = ",".join(_values(rows))
    return joined or None


def parse_owners(rows):
    """The login names in one lookup result, split on commas and white space as smtpd does."""
    joined = expansion(rows) or ""
    owners, token = [], ""
    for ch in joined:
        if ch in _OWNER_SEPARATORS:
            if token:
                owners.append(token)
            token = ""
        else:
            token += ch
    if token:
        owners.append(token)
    return owners


def owners_of(address, lookup, *, delimiter="+", local_domains=(), myorigin=None, myhostname=None):
    """(the key that answered, its owners), or (None, []) when no key finds anything."""
    keys = lookup_keys(address, delimiter=delimiter, local_domains=local_domains, myorigin=myorigin, myhostname=myhostname)
    for key in keys:
        rows = list(lookup(key))
        if expansion(rows) is not None:
            return key, parse_owners(rows)
    return None, []


@dataclass(frozen=True)
class SenderDecision:
    sender: str
    login: str | None
    allowed: bool
    matched_key: str | None = None
    owners: list[str] = field(default_factory=list)
    reason: str = ""
    # What smtpd kept of the MAIL FROM argument (its replies quote this form), and how
    # trivial-rewrite changed it before the lookup.
    address: str = ""
    rewriting: Rewriting | None = None

    @property
    def postfix_reply(self):
        return postfix_reply(self)


def is_null_sender(sender):
    return sender in ("", "<>", None)


def may_send(login, sender, lookup, *, delimiter="+", local_domains=(), myorigin=None, myhostname=None):
    """Postfix's verdict at RCPT TO on the guide's submission service.

    smtpd_sender_restrictions = reject_sender_login_mismatch, permit_sasl_authenticated, reject.
    `login` is the SASL user name as Dovecot hands it to Postfix, or None when not logged in.
    `sender` is the MAIL FROM argument as the client sent it (with or without its <>).
    """
    rewriting = rewriting_of("" if is_null_sender(sender) else sender, myorigin=myorigin, myhostname=myhostname, local_domains=local_domains)
    decide = partial(SenderDecision, rewriting.address, address=rewriting.address, rewriting=rewriting)
    if not rewriting.syntax_ok:
        return decide(login or None, False, reason="smtpd refuses the address syntax at MAIL FROM")
    if not rewriting.address:
        if not login:
            return decide(None, False, reason="not logged in")
        return decide(login, True, reason="the null sender is never checked")
    key, owners = owners_of(
        sender, lookup, delimiter=delimiter, local_domains=local_domains, myorigin=myorigin, myhostname=myhostname
    )
    if not login:
        # reject_sender_login_mismatch is reject_authenticated_sender_login_mismatch plus
        # reject_unauthenticated_sender_login_mismatch: an owned address answers "not logged
        # in"; any other falls through permit_sasl_authenticated to "reject".
        return decide(None, False, key, owners, reason="not logged in")
    if key is None:
        return decide(login, False, None, [], reason="no key has an owner")
    # strcasecmp_utf8(sasl_username, owner)
    if any(fold(owner) == fold(login) for owner in owners):
        return decide(login, True, key, owners, reason=f"{key} is owned by {login}")
    return decide(login, False, key, owners, reason=f"{key} belongs to {', '.join(owners) or 'nobody'}")


def postfix_reply(decision):
    """The reply Postfix gives at RCPT TO (the recipient's own checks aside).

    smtpd quotes the sender as it kept it: unquoted, without a source route.
    """
    if decision.rewriting is not None and not decision.rewriting.syntax_ok:
        return "501 5.1.7 Bad sender address syntax"
    if decision.allowed:
        return "250 2.1.5 Ok"
    if decision.login is None:
        if decision.matched_key is not None:
            return f"553 5.7.1 <{decision.sender}>: Sender address rejected: not logged in"
        return f"554 5.7.1 <{decision.sender}>: Sender address rejected: Access denied"
    return f"553 5.7.1 <{decision.sender}>: Sender address rejected: not owned by user {decision.login}"


# --- The query as a parametrised statement ----------------------------------------------

_EXPANSIONS = set("sSuUdD123456789")


@dataclass(frozen=True)
class SqlQuery:
    """A .cf query turned into DB-API SQL (%s placeholders) and the parts of the key it takes."""

    sql: str
    fields: tuple[str, ...]

    @property
    def n_params(self):
        return len(self.fields)

    @property
    def needs_domain(self):
        return any(f in "dD123456789" for f in self.fields)

    @property
    def needs_user(self):
        return any(f in "uU" for f in self.fields)

    def params_for(self, key):
        """The parameters for one key, or None where Postfix skips the query for that key.

        db_common_expand(): %d needs a key with a non-empty domain, %u a key with a non-empty
        local part; %1..%9 need that many non-empty labels at the end of the domain.
        """
        if not key:
            return None
        local, at, domain = key.rpartition("@")
        has_domain = bool(at)
        if self.needs_domain and not (has_domain and domain):
            return None
        if self.needs_user and has_domain and not local:
            return None
        labels = domain.split(".") if has_domain else []
        depth = max((int(f) for f in self.fields if f.isdigit()), default=0)
        if depth and (len(labels) < depth or any(not label for label in labels[-depth:])):
            return None
        params = []
        for f in self.fields:
            if f in "sS":
                params.append(key)
            elif f in "uU":
                params.append(local if has_domain else key)
            elif f in "dD":
                params.append(domain)
            else:
                params.append(labels[-int(f)])
        return tuple(params)


def sql_for(query_text):
    """Parametrise a Postfix .cf query: '%s' (or a bare %s) becomes a placeholder.

    The key never enters the SQL text; the driver quotes it. A quoted SQL string must hold
    exactly one expansion ('%s', '%u', ...) or none; anything else ('%u@%d') is refused
    because it has no one-placeholder equivalent. %% is a literal percent sign, which the
    DB-API "format" style spells %%.
    """
    out, fields = [], []
    i, n = 0, len(query_text)
    while i < n:
        ch = query_text[i]
        if ch == "'":
            end = _end_of_sql_string(query_text, i)
            body = query_text[i + 1 : end]
            if len(body) == 2 and body[0] == "%" and body[1] in _EXPANSIONS:
                out.append("%s")
                fields.append(body[1])
            else:
                out.append("'" + _literal_percents(body, query_text) + "'")
            i = end + 1
        elif ch == "%":
            nxt = query_text[i + 1 : i + 2]
            if nxt == "%":
                out.append("%%")
            elif nxt in _EXPANSIONS and nxt:
                # Postfix would paste the escaped key without quotes (usually an SQL error);
                # a placeholder is the only safe rendering of it.
                out.append("%s")
                fields.append(nxt)
            else:
                raise ValueError(f"Invalid Postfix query template: '%{nxt}' in {query_text!r}")
            i += 2
        else:
            out.append(ch)
            i += 1
    return SqlQuery("".join(out), tuple(fields))


def _end_of_sql_string(text, start):
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "'":
            if text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    raise ValueError(f"Unterminated string in query {text!r}")


def _literal_percents(body, query_text):
    out, i = [], 0
    while i < len(body):
        if body[i] == "%":
            if body[i + 1 : i + 2] == "%":
                out.append("%%")
                i += 2
                continue
            raise ValueError(
                f"Unsupported query template {query_text!r}: a quoted string may hold one expansion "
                "such as '%s' and nothing else."
            )
        out.append(body[i])
        i += 1
    return "".join(out)


def sql_lookup(run_query, query_text):
    """A `lookup` for may_send/owners_of from `run_query(sql, params) -> rows`."""
    query = sql_for(query_text)

    def lookup(key):
        params = query.params_for(key)
        if params is None:
            return []
        return run_query(query.sql, params)

    return lookup


# --- The other direction: what a login may send as ----------------------------------------


def table_lookup(mailbox_emails, alias_rows, query="aliases"):
    """A `lookup` answering from rows in memory the way the guide's two queries do.

    Compares as MariaDB's utf8 general collation does for ASCII: case-insensitively.
    """
    emails = list(mailbox_emails)
    aliases = list(alias_rows)

    def lookup(key):
        rows = [email for email in emails if collation_key(email) == collation_key(key)]
        if query == "aliases":
            rows += [dest for source, dest in aliases if collation_key(source) == collation_key(key)]
        # UNION removes duplicates (case-insensitively under the collation).
        seen, unique = set(), []
        for row in rows:
            if collation_key(row) not in seen:
                seen.add(collation_key(row))
                unique.append(row)
        return unique

    return lookup


@dataclass(frozen=True)
class SendAs:
    """One family of sender addresses a login may use.

    pattern: "jane@a.example", "jane+*@a.example" (any extension) or "*@a.example" (catch-all).
    via: the key that grants it. except_: addresses the pattern does not cover because they
    have rows of their own (Postfix's first key wins).
    """

    pattern: str
    kind: str  # "address" | "extension" | "catch-all"
    via: str
    except_: tuple[str, ...] = ()


def sendable_as(login, mailbox_emails, alias_rows, *, query="aliases", delimiter="+"):
    """Everything `login` may put in MAIL FROM, for virtual domains, as patterns.

    The null sender is always allowed and is not listed.
    """
    emails = [collation_key(e) for e in mailbox_emails]
    aliases = [(collation_key(s), fold(d)) for s, d in alias_rows]
    lookup = table_lookup(emails, aliases, query)
    keys = sorted(set(emails) | ({s for s, _ in aliases} if query == "aliases" else set()))
    # A key without "@" is only asked for local domains ($mydestination), never virtual ones.
    keys = [k for k in keys if "@" in k]
    # Only a key whose rows hold a value answers; an empty destination falls through to @domain.
    exact_keys = [k for k in keys if not k.startswith("@") and expansion(lookup(k)) is not None]
    owned = [k for k in keys if any(fold(o) == fold(login) for o in parse_owners(lookup(k)))]
    result = []
    for key in owned:
        if key.startswith("@"):
            domain = key[1:]
            taken = tuple(k for k in exact_keys if k.endswith("@" + domain) and k not in owned)
            result.append(SendAs("*" + key, "catch-all", key, taken))
            continue
        result.append(SendAs(key, "address", key))
        if _takes_extensions(key, delimiter):
            local, _, domain = key.rpartition("@")
            taken = tuple(
                k for k in exact_keys if k != key and strip_extension(k, delimiter)[0] == key and k not in owned
            )
            result.append(SendAs(f"{local}{delimiter[0]}*@{domain}", "extension", key, taken))
    return result


def _takes_extensions(key, delimiter):
    """Whether key+anything strips back to key (no delimiter in it already, not postmaster...)."""
    if not delimiter:
        return False
    local, _, domain = key.rpartition("@")
    return strip_extension(f"{local}{delimiter[0]}x@{domain}", delimiter)[0] == key


def matches(send_as, address, *, delimiter="+"):
    """Whether `address` falls under one SendAs pattern."""
    address = fold(address)
    if address in send_as.except_:
        return False
    if send_as.kind == "address":
        return address == send_as.pattern
    if send_as.kind == "extension":
        return strip_extension(address, delimiter)[0] == send_as.via and address != send_as.via
    domain = send_as.via
    if not address.endswith(domain):
        return False
    # Taken addresses also take their own +extensions (the no-extension key answers first).
    bare = strip_extension(address, delimiter)[0]
    return bare not in send_as.except_
