"""Browser tests drive Debian's chromium through Playwright; nothing is ever downloaded.

    with browser_page("test_name") as page:
        page.goto(live_server.url + "/login/")

When the block fails, a full-page screenshot is saved as test-artifacts/<test_name>.png.
"""

import os
import re
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000


def missing_reason():
    """Why browser tests cannot run here, or None when they can."""
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"chromium is not installed at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def screenshot_path(test_name):
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)[:150]
    return ARTIFACTS / f"{safe}.png"


@contextmanager
def _async_unsafe_allowed():
    # Playwright's sync API runs an event loop in this thread; Django would then refuse the
    # test's own database calls (SynchronousOnlyOperation) although nothing here is async.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def browser_page(test_name):
    from playwright.sync_api import sync_playwright

    with _async_unsafe_allowed(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            try:
                yield page
            except BaseException:
                save_screenshot(page, test_name)
                raise
        finally:
            browser.close()


def save_screenshot(page, test_name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = screenshot_path(test_name)
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception:  # a dead page must not hide the test's own failure
        return None
    return path


def force_login(page, base_url, user):
    """Log `user` in without the login form: their session cookie, made by Django's test client."""
    from django.test import Client

    client = Client()
    client.force_login(user, backend="mailadmin.staff.backends.StaffBackend")
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])


VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
