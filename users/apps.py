from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "domains and mailboxes"

    def ready(self):
        # Receivers (the failed-login logger), system checks (password scheme and its bounds),
        # and what the audit log records of this app's models.
        from users import audit_fields, auth_backends, checks  # noqa: F401

        audit_fields.register()
