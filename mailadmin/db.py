"""Writing rows the way every entry point must: validated, in one transaction, race-safe."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


def save_validated(instance):
    """Validate with the model's own rules, then save; a lost race becomes a ValidationError.

    The unique checks in full_clean() run before the INSERT, so two admins saving the same
    address at once both pass them; the database's unique key stops the second one, and we
    report that as the same form error the first check would have given.
    """
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        instance.validate_unique()
        instance.validate_constraints()
        raise ValidationError("Someone else changed this at the same moment; reload and try again.")
    return instance


def first_message(error):
    """One line for a command line or a flash message from a ValidationError."""
    if hasattr(error, "message_dict"):
        return " ".join(message for messages in error.message_dict.values() for message in messages)
    return " ".join(error.messages)
