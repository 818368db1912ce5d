"""Numbers from a query string, a URL or a form's hidden field, where anybody can type anything."""

# The largest id a BIGINT column (and so any of the panel's AutoFields) can hold.
ID_MAX = 2**63 - 1


def parse_id(value):
    """A row id from untrusted text, or None when it is not one (not digits, zero, too large).

    Callers answer None as "no such row" (a 404, an empty list), never as a server error."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        # isdecimal() alone accepts other scripts' digits ("١٢"); int() would read them too.
        if not (text.isascii() and text.isdecimal()) or len(text) > 19:
            return None
        number = int(text)
    return number if 0 < number <= ID_MAX else None
