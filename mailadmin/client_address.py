"""Who is on the other end of a request, as far as the panel can trust it."""

import ipaddress

from django.conf import settings


def client_address(request):
    """REMOTE_ADDR, or behind N trusted proxies the X-Forwarded-For entry the outermost one added.

    Counting from the right means an address a client writes into the header itself is never
    taken: each trusted proxy appends the address it saw, so the N-th entry from the end is the
    one the first trusted proxy saw.
    """
    remote = request.META.get("REMOTE_ADDR")
    hops = settings.MAILADMIN_PROXY_COUNT
    if not hops:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
