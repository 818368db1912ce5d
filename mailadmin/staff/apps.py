from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "mailadmin.staff"
    label = "staff"
    verbose_name = "staff accounts"

    def ready(self):
        from mailadmin import audit
        from mailadmin.staff import checks, reauth, twofactor  # noqa: F401

        twofactor.connect_signals()
        reauth.connect_signals()
        # Written only by mailadmin.staff.services, which records each change itself: a signal
        # would also log mailbox users' shadow accounts and every login's last_login.
        audit.register(
            "auth.User",
            "staff account",
            ["username", "first_name", "last_name", "email", "is_active", "is_superuser"],
            domain_of=lambda user: "",
            by_signals=False,
        )
