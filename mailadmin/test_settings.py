"""The production settings, with the few knobs the test suite needs set before they are read."""

import os

os.environ.setdefault("MAILADMIN_ALLOW_INSECURE_KEY", "1")
os.environ.setdefault("MAILADMIN_SECURE", "0")
# Cheap bcrypt keeps the suite fast; a test checks the real default of 12 on its own.
os.environ.setdefault("MAILADMIN_BCRYPT_COST", "5")
# A memory cache each test can clear without a database; the database cache production uses
# by default is tested on its own (mailadmin/tests/test_settings_deploy.py).
os.environ.setdefault("CACHE_URL", "locmemcache://")
# The shared actors (conftest.py) have no second factor; tests of the requirement turn it on.
os.environ.setdefault("MAILADMIN_REQUIRE_2FA", "off")
# A connection per request, as before persistent connections: the live-server and subprocess tests
# must not keep a connection (and its locks) open into the next test's flush.
os.environ.setdefault("MAILADMIN_DB_CONN_MAX_AGE", "0")
if os.environ.get("TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]

from mailadmin.settings import *  # noqa: E402,F401,F403

# A TOTP code typed just across a 30-second boundary would otherwise teach the device a clock
# drift, and the tests' "next period's code" (mailadmin/staff/testing.py) could then fall outside
# the accepted window: a rare flaky failure, not a behaviour worth testing.
OTP_TOTP_SYNC = False
