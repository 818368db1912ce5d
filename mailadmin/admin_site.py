"""The Django admin's site: Django's own, without the parts its pages do not show.

Installed by `AdminConfig` below (in INSTALLED_APPS instead of django.contrib.admin), so
`admin.site` and every `@admin.register` are this site.
"""

from django.contrib.admin import AdminSite
from django.contrib.admin import apps as admin_apps
from django.utils.functional import SimpleLazyObject


class MailAdminSite(AdminSite):
    # The sidebar repeats on every page what the breadcrumbs and the index already offer (the
    # panel's own pages are the everyday way in); rendering it cost a change list 10-17 % of
    # its CPU (bench/instructions.py).
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        # Every admin page's context carries the list of apps and models for the sidebar, and
        # building it (a URL and a permission check per model) took about 0.6 ms. Without the
        # sidebar only the index shows it: it is built when a template reads it.
        parent = super()
        return SimpleLazyObject(lambda: parent.get_app_list(request, app_label))


class AdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with this site, named in INSTALLED_APPS in its place."""

    default_site = "mailadmin.admin_site.MailAdminSite"
