from django.apps import AppConfig


class AliasesConfig(AppConfig):
    name = "aliases"
    verbose_name = "aliases and sending rights"

    def ready(self):
        # System checks: the sender-login query and the recipient delimiter.
        from aliases import checks  # noqa: F401
