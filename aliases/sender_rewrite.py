"""What Postfix 3.7 makes of a MAIL FROM address before smtpd_sender_login_maps sees it.

No Django in here. Postfix never looks up the address as the client typed it:

1. smtpd (smtpd.c extract_addr): strips the <>, truncates a source route (`@relay:`), parses
   the rest as an RFC 822 address and keeps its internal (unquoted) form: `"sales"@d` is
   `sales@d`. Rejections quote this form: `<sales@d>: Sender address rejected`.
2. smtpd_resolve.c asks trivial-rewrite to rewrite it in the local context (rewrite.c
   rewrite_tree), then to resolve it (resolve.c resolve_addr), and case-folds the result.
   rewrite_tree: drop a source route; for an address without `@`, swap a bang path
   (`d!sales` is `sales@d`, swap_bangpath=yes), else turn the last `%` into `@`
   (allow_percent_hack=yes), else append `@$myorigin` (append_at_myorigin=yes); strip one
   trailing dot. append_dot_mydomain is `no` at compatibility_level 1 and above (Debian's
   main.cf says so too), so `.$mydomain` is never appended here.
   resolve_addr: strip a trailing dot; while the domain is local ($mydestination,
   [inet_interfaces]), take it off and rewrite what is left when it still routes
   (`sales%d@localhost` is `sales@d`); a quoted local part with `@ % !` in it is opened
   (resolve_dequoted_address=yes); an address left without a domain gets `@$myhostname`.
3. mail_addr_find (MA_FIND_FORM_LEGACY): each key is asked in external (quoted) form first
   and, when that differs, in internal form: `"a b"@d`, then `a b@d`.

The tokenizer below follows tok822_scan (atoms, quoted strings, domain literals, and the
operator characters `|%!()<>@,;:\\".[]`), with comments dropped, which is all the rewriting
above looks at.
"""

import ipaddress
import re
from dataclasses import dataclass

OPERATORS = set('|%!()<>@,;:\\".[]')
QSTRING, ATOM, DOMLIT = "qstring", "atom", "domlit"
# var_empty_addr: an empty local part resolves to the local MAILER-DAEMON.
EMPTY_ADDRESS = "MAILER-DAEMON"


def fold(text):
    """Postfix's casefold() of a key (full Unicode folding with SMTPUTF8 on, the default)."""
    return text.casefold()


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # QSTRING, ATOM, DOMLIT, or the operator character itself
    text: str = ""


def _collect(text, i, stop):
    """COLLECT(): characters up to `stop(ch)`, a backslash taking the next one literally."""
    out = []
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 1
            if i == len(text):
                break
            ch = text[i]
        elif stop(ch):
            break
        out.append(" " if ch in " \t\r\n" else ch)
        i += 1
    return "".join(out), i


def _skip_comment(text, i):
    depth = 1
    while i < len(text) and depth:
        if text[i] == "\\":
            i += 1
        elif text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
        i += 1
    return i


def scan(text):
    """tok822_scan(): the token list of an external-form address (comments dropped)."""
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch in " \t\r\n":
            continue
        if ch == "(":
            i = _skip_comment(text, i)
            continue
        if ch == "[":
            body, i = _collect(text, i, lambda c: c == "]")
            tokens.append(Token(DOMLIT, body))
            i += 1
        elif ch == '"':
            body, i = _collect(text, i, lambda c: c == '"')
            tokens.append(Token(QSTRING, body))
            i += 1
        elif ch != "\\" and ch in OPERATORS:
            tokens.append(Token(ch))
        else:
            body, i = _collect(text, i - 1, lambda c: c in " \t\r\n" or c in OPERATORS)
            # tok822_quote_atom(): an atom that holds a special (escaped) is a quoted string.
            special = any(c == " " or ord(c) < 32 or c == "\x7f" or c in OPERATORS for c in body)
            tokens.append(Token(QSTRING if special else ATOM, body))
    return tokens


def _words_meet(left, right):
    """tok822_append_space(): two adjacent words are written with a blank between them."""
    return left.kind in (QSTRING, ATOM, DOMLIT) and right.kind in (QSTRING, ATOM, DOMLIT)


def internalize(tokens):
    """tok822_internalize(): the unquoted string."""
    parts = []
    for i, token in enumerate(tokens):
        if i and _words_meet(tokens[i - 1], token):
            parts.append(" ")
        if token.kind in (QSTRING, ATOM):
            parts.append(token.text)
        elif token.kind == DOMLIT:
            parts.append(f"[{token.text}]")
        else:
            parts.append(token.kind)
    return "".join(parts)


def externalize(tokens):
    """tok822_externalize(): quoted strings get their quotes (and backslashes) back."""
    parts = []
    for i, token in enumerate(tokens):
        if i and _words_meet(tokens[i - 1], token):
            parts.append(" ")
        if token.kind == QSTRING:
            parts.append('"' + token.text.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif token.kind == ATOM:
            parts.append(token.text)
        elif token.kind == DOMLIT:
            parts.append(f"[{token.text}]")
        else:
            parts.append(token.kind)
    return "".join(parts)


def _last(tokens, kind):
    return next((i for i in range(len(tokens) - 1, -1, -1) if tokens[i].kind == kind), None)


def _first(tokens, kind):
    return next((i for i, token in enumerate(tokens) if token.kind == kind), None)


# --- quote_822_local.c -----------------------------------------------------------------------


def _is_dot_string(local):
    if not local or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    return not any(ch == " " or ord(ch) < 32 or ord(ch) == 127 or ch in '()<>@,;:\\"[]' for ch in local)


def quote_local(address, *, bare_local_part=False):
    """quote_822_local(): quote the local part when it is not an RFC 822 dot-string."""
    route, start = "", address
    if address.startswith("@") and ":" in address:
        colon = address.index(":") + 1
        route, start = address[:colon], address[colon:]
    at = len(start) if bare_local_part or "@" not in start else start.rindex("@")
    local, rest = start[:at], start[at:]
    if _is_dot_string(local):
        return address
    return route + '"' + local.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\\r") + '"' + rest


def unquote_local(address):
    """unquote_822_local(): drop the quotes and backslashes of the local part."""
    route, start = "", address
    if address.startswith("@") and ":" in address:
        colon = address.index(":") + 1
        route, start = address[:colon], address[colon:]
    out, in_quote, bare_at, i = [], False, None, 0
    while i < len(start):
        ch = start[i]
        if ch == '"':
            in_quote = not in_quote
            i += 1
            continue
        if ch == "@" and not in_quote:
            bare_at = (len(out), i)
        elif ch == "\\" and i + 1 < len(start):
            i += 1
            ch = start[i]
        out.append(ch)
        i += 1
    if bare_at is not None:
        return route + "".join(out[: bare_at[0]]) + start[bare_at[1] :]
    return route + "".join(out)


# --- the rewriting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rewriting:
    """A sender address as Postfix sees it, and what changed it on the way."""

    given: str  # the MAIL FROM argument, <> stripped
    address: str  # smtpd's internal form: what Postfix's replies quote
    resolved: str  # the case-folded result of rewrite + resolve: the first lookup key
    steps: tuple[str, ...] = ()
    # False where smtpd answers MAIL FROM with "501 5.1.7 Bad sender address syntax".
    syntax_ok: bool = True

    @property
    def changed(self):
        return bool(self.steps)

    def describe(self):
        if not self.syntax_ok:
            return f"Postfix refuses <{self.given}> at MAIL FROM: " + "; ".join(self.steps) + "."
        if not self.steps:
            return ""
        return f"Postfix looks up <{self.given}> as {self.resolved}: " + "; ".join(self.steps) + "."


@dataclass(frozen=True)
class PostfixNames:
    """The main.cf parameters the rewriting depends on (see aliases.sender_rights.lookup_config)."""

    myorigin: str = ""  # $myorigin (Postfix's default is $myhostname)
    myhostname: str = ""  # "" = same as myorigin
    local_domains: tuple[str, ...] = ()  # $mydestination and [inet_interfaces addresses]

    def is_local(self, domain):
        """resolve_local(): one trailing dot is ignored; myorigin is not local by itself."""
        domain = fold(domain)
        if domain.endswith(".") and not domain.endswith(".."):
            domain = domain[:-1]
        return bool(domain) and domain in {fold(d) for d in self.local_domains}

    @property
    def hostname(self):
        return self.myhostname or self.myorigin


def _rewrite_tree(tokens, names, steps):
    """rewrite.c rewrite_tree() in the local context, with Postfix 3.7's defaults."""
    if len(tokens) == 1 and tokens[0].kind == QSTRING and not tokens[0].text:
        return tokens
    if len(tokens) == 1 and tokens[0].kind == "@":
        return [Token(QSTRING, "")]
    colon = _first(tokens, ":")
    if tokens and tokens[0].kind == "@" and colon is not None and colon != len(tokens) - 1:
        steps.append(f"the source route {internalize(tokens[: colon + 1])} is dropped")
        tokens = tokens[colon + 1 :]
    if _last(tokens, "@") is None:
        bang, percent = _first(tokens, "!"), _last(tokens, "%")
        before = internalize(tokens)
        if bang is not None:
            tokens = tokens[bang + 1 :] + [Token("@")] + tokens[:bang]
            steps.append(f"the bang path {before} is {internalize(tokens)} (swap_bangpath)")
        elif percent is not None:
            tokens = tokens[:percent] + [Token("@")] + tokens[percent + 1 :]
            steps.append(f"{before} is {internalize(tokens)} (allow_percent_hack)")
        elif names.myorigin:
            tokens = tokens + [Token("@")] + scan(names.myorigin)
            steps.append(f"a bare local part gets @$myorigin ({internalize(tokens)})")
    if len(tokens) > 1 and tokens[-1].kind == "." and tokens[-2].kind not in (".", "@"):
        steps.append("the trailing dot is dropped")
        tokens = tokens[:-1]
    return tokens


def _rewrite_local(internal, names, steps):
    """rewrite_clnt_internal(MAIL_ATTR_RWR_LOCAL, ...): quote, rewrite, unquote."""
    if not internal:
        return internal
    tokens = _rewrite_tree(scan(quote_local(internal)), names, steps)
    return unquote_local(externalize(tokens))


def _resolve(internal, names, steps):
    """resolve.c resolve_addr(): the recipient part of trivial-rewrite's answer."""
    tokens = scan(quote_local(internal))
    saved, remote = None, False
    for _ in range(len(internal) + 100):
        if len(tokens) > 1 and tokens[-1].kind == "." and _last(tokens, "@") is not None and tokens[-2].kind not in (".", "@"):
            steps.append("the trailing dot is dropped")
            tokens = tokens[:-1]
        at = _last(tokens, "@")
        if at is not None:
            if at + 1 < len(tokens) and not names.is_local(internalize(tokens[at + 1 :])):
                remote = True
                break
            saved, tokens = tokens[at:], tokens[:at]
            if any(t.kind in ("@", "!", "%") for t in tokens):
                steps.append(f"{internalize(saved[1:])} is local ($mydestination), so Postfix routes on {internalize(tokens)}")
        if any(t.kind in ("@", "!", "%") for t in tokens):
            tokens = _rewrite_tree(tokens, names, steps)
            continue
        if len(tokens) == 1 and tokens[0].kind == QSTRING:
            local = tokens[0].text
            positions = [local.rfind("@"), local.rfind("%"), local.rfind("!")]
            oper = next((p for p in positions if p >= 0), -1)
            if oper >= 0:
                steps.append(f'the quoted local part "{local}" is opened (resolve_dequoted_address)')
                if local[oper] == "%":
                    local = local[:oper] + "@" + local[oper + 1 :]
                if local[oper] == "@":
                    local = quote_local(local)
                tokens = _rewrite_tree(scan(local), names, steps)
                continue
        if len(tokens) == 1 and tokens[0].kind == QSTRING and not tokens[0].text:
            tokens = []
        if not tokens:
            steps.append(f"an empty local part is {EMPTY_ADDRESS}")
            tokens = scan(EMPTY_ADDRESS)
            continue
        if at is None and saved is None:
            steps.append(f"an address without a domain gets @$myhostname ({names.hostname})")
            tokens = tokens + [Token("@")] + scan(names.hostname)
            continue
        break
    if not remote:
        tokens = tokens + (saved if saved is not None else [Token("@"), *scan(names.hostname)])
    return internalize(tokens)


_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$")


def _valid_hostname(name):
    """valid_hostname(): labels of letters, digits, '_' and inner '-', at most 63 bytes each,
    255 in all, not all digits (a bare IP address is not a domain: resolve_numeric_domain=no)."""
    labels = name.split(".")
    if not name or len(name) > 255 or any(len(label) > 63 or not _LABEL.match(label) for label in labels):
        return False
    return not all(ch.isdigit() or ch == "." for ch in name)


def _valid_domain(domain):
    if domain.startswith("["):
        body = domain[1:-1] if domain.endswith("]") else ""
        try:
            if body.lower().startswith("ipv6:"):
                return ipaddress.ip_address(body[5:]).version == 6
            return ipaddress.ip_address(body).version == 4
        except ValueError:
            return False
    if not domain.isascii():
        # Only with SMTPUTF8, and then as its IDNA form.
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    return _valid_hostname(domain)


def refusal(resolved):
    """Why resolve.c flags `resolved` as an error (smtpd answers MAIL FROM with 501), or ''."""
    if resolved.startswith("-"):
        return "an address starting with '-' is refused (allow_min_user = no)"
    if not _valid_domain(resolved.rpartition("@")[2]):
        return f"{resolved.rpartition('@')[2]!r} is not a valid domain"
    return ""


def smtpd_address(given):
    """smtpd.c extract_addr(): (the internal form smtpd keeps of a MAIL FROM argument, steps, syntax ok).

    tok822_parse() reads two adjacent words (`"jane"+x`, `a b`) as a phrase and an address,
    and smtpd refuses more than one address form: 501 at MAIL FROM.
    """
    text = given
    if len(text) >= 2 and text[0] == "<" and text[-1] == ">":
        text = text[1:-1]
    steps = []
    if text.startswith("@") and ":" in text:
        steps.append(f"the source route {text[: text.index(':') + 1]} is dropped")
        text = text[text.index(":") + 1 :]
    tokens = [token for token in scan(text) if token.kind not in ("<", ">")]
    internal = internalize(tokens)
    if any(token.kind == QSTRING for token in tokens) and internal:
        steps.append(f"the quotes are removed ({internal})")
    syntax_ok = not any(_words_meet(left, right) for left, right in zip(tokens, tokens[1:]))
    return internal, steps, syntax_ok


def rewrite(given, names=PostfixNames()):
    """The Rewriting of one MAIL FROM argument (with or without its <>)."""
    given = given.strip()
    if len(given) >= 2 and given[0] == "<" and given[-1] == ">":
        given = given[1:-1]
    internal, steps, syntax_ok = smtpd_address(given)
    if not syntax_ok:
        why = "two words side by side: smtpd reads a phrase and an address, and refuses it"
        return Rewriting(given, internal, "", (why,), syntax_ok=False)
    if not internal:
        return Rewriting(given, "", "", ())
    rewritten = _rewrite_local(internal, names, steps)
    resolved = fold(_resolve(rewritten, names, steps))
    refused = refusal(resolved)
    if refused:
        return Rewriting(given, internal, "", (*dict.fromkeys(steps), refused), syntax_ok=False)
    return Rewriting(given, internal, resolved, tuple(dict.fromkeys(steps)))


def query_forms(key, *, with_domain=True):
    """find_addr() with MA_FORM_EXTERNAL_FIRST: the external form, then the internal one if it differs."""
    external = quote_local(key, bare_local_part=not with_domain)
    return [external] if external == key else [external, key]
