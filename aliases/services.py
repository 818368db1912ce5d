"""What the panel does to aliases, shared by every entry point."""

from mailadmin.db import save_validated
from aliases.models import Alias


def create_alias(source, destination):
    return save_validated(Alias(source=source, destination=destination))
