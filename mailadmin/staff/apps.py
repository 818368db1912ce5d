from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "mailadmin.staff"
    label = "staff"
    verbose_name = "staff accounts"

    def ready(self):
        from mailadmin.staff import checks, reauth  # noqa: F401

        reauth.connect_signals()
