"""mailadmin.mysql_driver: MariaDB's DATETIME and TIMESTAMP values read by datetime.fromisoformat,
to the same values MySQLdb's own parser gives."""

from datetime import datetime, timezone

import pytest
from django.db import connection
from MySQLdb.constants import FIELD_TYPE
from MySQLdb.times import DateTime_or_None

from mailadmin.models import AuditEntry
from mailadmin.mysql_driver import datetime_or_none

AS_MARIADB_SENDS_THEM = [
    "2026-12-04 05:21:11",
    "2026-12-04 05:21:11.452000",
    "2026-12-04 05:21:11.000001",
    "2026-12-04 05:21:11.513",
    "2026-12-04 05:21:11.5",
    "2026-12-04 05:21:11.45",
    "2026-12-04 05:21:11.4567",
    "2026-12-04 05:21:11.45678",
    "0001-01-01 00:00:00",
    "9999-12-31 23:59:59.999999",
    "0000-00-00 00:00:00",
    "2026-00-00 00:00:00",
    "2026-02-30 10:00:00",
    "2026-12-04",
    "0000-00-00",
    "",
    "not a moment at all",
    "2026-12-04 25:61:61.123456",
]


@pytest.mark.parametrize("text", AS_MARIADB_SENDS_THEM)
def test_a_moment_is_read_as_mysqldb_reads_it(text):
    assert datetime_or_none(text) == DateTime_or_None(text)
    assert type(datetime_or_none(text)) is type(DateTime_or_None(text))


@pytest.mark.mariadb
def test_the_panels_mariadb_connection_reads_moments_with_it(db):
    if connection.vendor != "mysql":
        pytest.skip("MariaDB only: SQLite's moments are Django's to read")
    connection.ensure_connection()
    assert connection.connection.converter[FIELD_TYPE.DATETIME] is datetime_or_none
    moment = datetime(2026, 12, 4, 5, 21, 11, 452000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT CAST(%s AS DATETIME(6)), CAST(%s AS DATETIME(3)), CAST(%s AS DATETIME), "
                       "CAST('0000-00-00 00:00:00' AS DATETIME)", [moment, moment, moment])
        assert cursor.fetchone() == (moment, moment, moment.replace(microsecond=0), None)
    entry = AuditEntry.objects.create(timestamp=datetime(2026, 12, 4, 5, 21, 11, 7, tzinfo=timezone.utc), actor="x",
                                      action="create", object_type="domain", object_repr="d")
    assert AuditEntry.objects.get(pk=entry.pk).timestamp == entry.timestamp
