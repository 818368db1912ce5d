from django.apps import AppConfig

from mailadmin import audit


class AliasesConfig(AppConfig):
    name = "aliases"
    verbose_name = "aliases and sending rights"

    def ready(self):
        # System checks: the sender-login query and the recipient delimiter.
        from aliases import checks, receivers  # noqa: F401

        receivers.connect()
        audit.register(
            "aliases.Alias",
            "alias",
            ["source", "destination"],
            domain_of=lambda alias: alias.source.rpartition("@")[2],
        )
