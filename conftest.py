"""Named actors shared by every test (after healthchecks' BaseTestCase).

- alice: superadmin
- bob: domain admin of a.example
- carol: domain admin of b.example
- dave: staff with no domains
- jane@a.example: a mailbox user (a non-staff account named by the address; her password
  lives only as the Dovecot hash in virtual_users)
"""

import os

import pytest

CI = os.environ.get("CI") == "true"
ACTOR_PASSWORD = "correct horse battery staple"
MAILBOX_PASSWORD = "Mailbox-Passw0rd-for-tests"


def require_or_skip(condition, reason):
    """Skip outside CI when a real part is missing; in CI a missing part is a failure."""
    if condition:
        return
    if CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def admin_search_shapes():
    """The search shapes in the keys of the statements kept for the Django admin's narrowed lists:
    ("admin list", model, scope, order, filters' values, search shape, what, …)."""
    from mailadmin import kept_statements

    return {key[5] for _database, key in kept_statements._statements if key[0] == "admin list" and len(key) > 6} - {None}


@pytest.fixture
def domain_a(db):
    from users.models import Domain

    return Domain.objects.create(name="a.example")


@pytest.fixture
def domain_b(db):
    from users.models import Domain

    return Domain.objects.create(name="b.example")


def _staff(username, **extra):
    from django.contrib.auth.models import User

    return User.objects.create_user(username, password=ACTOR_PASSWORD, is_staff=True, **extra)


@pytest.fixture
def alice(db):
    return _staff("alice", is_superuser=True)


@pytest.fixture
def bob(domain_a):
    from users.models import DomainAdminGrant

    user = _staff("bob")
    DomainAdminGrant.objects.create(user=user, domain=domain_a)
    return user


@pytest.fixture
def carol(domain_b):
    from users.models import DomainAdminGrant

    user = _staff("carol")
    DomainAdminGrant.objects.create(user=user, domain=domain_b)
    return user


@pytest.fixture
def dave(db):
    return _staff("dave")


@pytest.fixture
def jane_mailbox(domain_a):
    from users.models import Mailbox

    mailbox = Mailbox(domain=domain_a, email="jane@a.example", quota=0)
    mailbox.set_password(MAILBOX_PASSWORD)
    mailbox.save()
    return mailbox


@pytest.fixture
def jane(jane_mailbox):
    from django.contrib.auth.models import User

    user = User.objects.create_user(jane_mailbox.email)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def mariadb(db):
    """Marks a test that only means something on MariaDB (skipped on SQLite, required in CI runs there)."""
    from django.db import connection

    if connection.vendor != "mysql":
        pytest.skip("needs MariaDB (run with TEST_DATABASE_URL=mysql://...)")
    return connection


@pytest.fixture
def page(request, live_server):
    """A page in Debian's chromium (Playwright); a failing test leaves a screenshot in test-artifacts/."""
    from mailadmin.testing import browser

    require_or_skip(browser.missing_reason() is None, browser.missing_reason() or "")
    with browser.browser_page(request.node.name) as page:
        yield page


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Cached figures (list totals, the dashboard) never leak from one test into another.

    Tests use a per-process memory cache (mailadmin/test_settings.py), so clearing needs no database.
    """
    from django.core.cache import cache

    cache.clear()
    yield
