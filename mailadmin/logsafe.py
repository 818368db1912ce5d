"""Values from a request made safe to put into a log line.

A log line is read by people and by programs (fail2ban, log shippers) that take one line for
one event. A user name with a newline in it would start a line of the attacker's choosing, and
an escape sequence would rewrite what a terminal shows. So every control character, the Unicode
line and paragraph separators included, is written as a visible escape (`\\n`, `\\x1b`,
`\\u2028`), and a backslash as `\\\\`, so an escaped value can never pass for an escape.
"""

import logging
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escaped_char(char):
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in "\u0085\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def escape(value):
    """`value` as text on one line, with nothing a terminal or a line-based reader acts on."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escaped_char(char) for char in text)


class EscapeControlCharacters(logging.Filter):
    """Escapes the arguments of every record it sees, and the message itself.

    Attached to the handlers in settings.LOGGING, so it covers django-axes' own lines
    ("AXES: New login failure by {username: ...}") as well as the panel's; a record is escaped
    once, even when it passes through two handlers.
    """

    def filter(self, record):
        if getattr(record, "_mailadmin_escaped", False):
            return True
        if isinstance(record.msg, str):
            record.msg = escape(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: self._safe(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(self._safe(value) for value in record.args)
        record._mailadmin_escaped = True
        return True

    @staticmethod
    def _safe(value):
        # Numbers stay numbers, so "%d" in a message still formats.
        if isinstance(value, (int, float)) or value is None:
            return value
        return escape(value)


def token(value, limit=120):
    """`value` as one word for a key=value log field: percent-encoded, so it holds no space,
    no '=' and no line break, and a crafted name cannot put another field into the line."""
    from urllib.parse import quote

    return quote(str(value or "")[:limit], safe="@.+-_") or "-"
