from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mailadmin import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("django-admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    path("favicon.ico", views.favicon, name="favicon"),
    # Each feature owns its URL module.
    path("", include("users.urls")),  # dashboard, domains, mailboxes (staff)
    path("", include("aliases.urls")),  # aliases (staff)
    path("", include("aliases.sending_urls")),  # who may send as what
    path("", include("users.account_urls")),  # mailbox users' own pages
    path("", include("mailadmin.bulk_urls")),  # import, export, audit log
    path("", include("mailadmin.staff.urls")),  # staff accounts, second factor, re-authentication
]
