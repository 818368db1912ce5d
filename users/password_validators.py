"""Password rules Django's own validators do not have (AUTH_PASSWORD_VALIDATORS)."""

import unicodedata

from django.core.exceptions import ValidationError


class NoControlCharacters:
    """Refuses NUL, line breaks and the other control characters.

    Dovecot reads a password as a C string, so nothing after a NUL would count (and the hash
    functions refuse it outright); a line break or an escape cannot be typed at a mail client's
    password prompt. Refused when the password is chosen, so every entry point (the pages, an
    import's dry run, the command line) says so before anything is written.
    """

    message = "A password cannot contain control characters such as NUL, tab or a line break."

    def validate(self, password, user=None):
        if any(unicodedata.category(char) == "Cc" for char in password):
            raise ValidationError(self.message, code="password_control_character")

    def get_help_text(self):
        return "Your password cannot contain control characters (NUL, tab, line breaks)."
