"""Settings for the benchmark only: its own MariaDB database, and a query counter per response."""

import os

# Forced, not defaulted: a DATABASE_URL left in the environment must never be the bench's target.
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/mailadmin_bench")
os.environ.setdefault("MAILADMIN_ALLOW_INSECURE_KEY", "1")
os.environ.setdefault("MAILADMIN_SECURE", "0")
# The bench's superuser logs in with a password only; its pages are what is measured.
os.environ.setdefault("MAILADMIN_REQUIRE_2FA", "off")

from mailadmin.settings import *  # noqa: E402,F401,F403
from mailadmin.settings import MIDDLEWARE  # noqa: E402

# Outermost, so the count includes the session, the user and everything templates load.
MIDDLEWARE = ["bench.querycount.QueryCountMiddleware"] + MIDDLEWARE
# The bench logs in many times from one address.
AXES_ENABLED = False

# An experiment, not the production setting: `bench/run.py --conn-max-age N` keeps each worker's
# database connection for N seconds instead of opening one per request.
if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])  # noqa: F405
