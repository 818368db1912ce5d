from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "domains and mailboxes"

    def ready(self):
        # Receivers (the failed-login logger) and system checks (password scheme and its bounds).
        from users import auth_backends, checks  # noqa: F401
