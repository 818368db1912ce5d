from importlib import import_module

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.core.exceptions import ImproperlyConfigured
from django.urls import path

from mailadmin import views


def patterns_of(module_name):
    """The URL patterns of a feature's module, which must name no app (a namespace needs include())."""
    module = import_module(module_name)
    if hasattr(module, "app_name"):
        raise ImproperlyConfigured(f"{module_name} names an app: include() it instead.")
    return module.urlpatterns


urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("django-admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    path("favicon.ico", views.favicon, name="favicon"),
    # Each feature owns its URL module. Their patterns are listed here, in this order, rather than
    # each module included under "": every included module a URL is not in raised and caught a
    # Resolver404 (half of what resolving /audit/ cost).
    *patterns_of("users.urls"),  # dashboard, domains, mailboxes (staff)
    *patterns_of("aliases.urls"),  # aliases (staff)
    *patterns_of("aliases.sending_urls"),  # who may send as what
    *patterns_of("users.account_urls"),  # mailbox users' own pages
    *patterns_of("mailadmin.bulk_urls"),  # import, export, audit log
    *patterns_of("mailadmin.staff.urls"),  # staff accounts, second factor, re-authentication
]
