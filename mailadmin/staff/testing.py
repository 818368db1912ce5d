"""Helpers for tests that log staff in with a second factor."""

import time

from django_otp.oath import TOTP

from mailadmin.staff import reauth


def totp_code(key, steps_ahead=0, step=30):
    """The code an authenticator app shows for `key` (bytes), `steps_ahead` periods from now.

    A device refuses a code of a period it has already accepted (replay), and accepts one
    period of clock drift either way: a test that enrols and logs in within one period asks
    for the next period's code."""
    totp = TOTP(key, step=step)
    totp.time = time.time() + steps_ahead * step
    return f"{totp.token():06d}"


def log_in_recently(client, user):
    """force_login, with the session marked as just re-authenticated."""
    client.force_login(user, backend="mailadmin.staff.backends.StaffBackend")
    mark_session(client, recent=True)


def mark_session(client, recent):
    session = client.session
    if recent:
        reauth.mark_recent(session)
    else:
        session[reauth.SESSION_KEY] = int(time.time()) - 24 * 3600
    session.save()
