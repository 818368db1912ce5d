"""Show stored mail names the way people write them."""

import re

from django import template

from users.addresses import domain_to_unicode

register = template.Library()

_PUNYCODE_DOMAIN = re.compile(r"(?<![\w-])(?:[a-z0-9-]+\.)*xn--[a-z0-9-]+(?:\.[a-z0-9-]+)*", re.IGNORECASE)


@register.filter
def unicode_domains(text):
    """Every punycode domain in `text` (an address, a pattern, a sentence) in Unicode."""
    return _PUNYCODE_DOMAIN.sub(lambda match: domain_to_unicode(match.group(0).lower()), str(text))
