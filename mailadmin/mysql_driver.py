"""The conversions Django's MySQL backend gives MySQLdb, with DATETIME and TIMESTAMP values
parsed by datetime.fromisoformat (C code) instead of MySQLdb's own parser (Python code slicing the
text): 17,000 instructions a value, 0.9 M of a page of the audit log's 50 entries. A value
fromisoformat does not take (a zero date, a fraction of one or two digits) is MySQLdb's to parse."""

from datetime import datetime

from django.db.backends.mysql.base import django_conversions
from MySQLdb.constants import FIELD_TYPE
from MySQLdb.times import DateTime_or_None

# "YYYY-MM-DD HH:MM:SS", with 3 or 6 digits of a second: the forms fromisoformat reads as MySQLdb does.
_ISO_LENGTHS = frozenset((19, 23, 26))


def datetime_or_none(text):
    if len(text) in _ISO_LENGTHS:
        try:
            return datetime.fromisoformat(text)
        except (TypeError, ValueError):
            pass
    return DateTime_or_None(text)


CONVERSIONS = {**django_conversions, FIELD_TYPE.DATETIME: datetime_or_none, FIELD_TYPE.TIMESTAMP: datetime_or_none}
