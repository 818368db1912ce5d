"""CSV cells a spreadsheet shows as text, never runs as a formula (OWASP "CSV injection").

A mailbox may legally be called `=cmd|'/c calc'!A0@example.org` or `-2+3@example.org`, and a
catch-all alias starts with `@`. Excel, LibreOffice and Google Sheets run a cell that starts
with `=`, `+`, `-` or `@` (and one that starts with a tab or carriage return before those) as a
formula. Such a cell is written with a leading `'`, which the spreadsheets show as text; the
panel's own import takes the `'` off again, so an export imports unchanged.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """`value` for a CSV cell, with a leading `'` when a spreadsheet would read a formula."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def row(values):
    return [cell(value) for value in values]


def uncell(text):
    """The value `cell()` wrote: the import's inverse."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
