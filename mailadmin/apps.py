from django.apps import AppConfig


class MailadminConfig(AppConfig):
    name = "mailadmin"
    verbose_name = "mailadmin"

    def ready(self):
        # Every signal receiver and system check of the app is wired here, not as a side
        # effect of some module being imported first (a command that never imports a view
        # must see the same behaviour as a page).
        from mailadmin import assets, checks, lookups  # noqa: F401
