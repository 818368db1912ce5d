"""Response headers the whole panel needs and no single view should have to remember."""

from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.functional import LazyObject, empty


class NoStoreForPrivatePages:
    """`Cache-Control: no-store` on every page shown to a logged-in user and on every CSV file.

    Those pages list addresses, quotas and sometimes password hashes or reset links: neither a
    shared proxy nor the browser's disk cache (where the next user of a shared computer finds
    them with the back button) may keep a copy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        private = user is not None and user.is_authenticated
        already = "no-store" in response.get("Cache-Control", "")
        if not already and (private or response.get("Content-Type", "").startswith("text/csv")):
            add_never_cache_headers(response)
            patch_vary_headers(response, ("Cookie",))
        return response


class EvaluatedUser:
    """`request.user` as the user object itself once the middleware before have worked it out.

    Django's AuthenticationMiddleware and django-otp's OTPMiddleware each wrap the user in a lazy
    object, whose every attribute read raises and catches an AttributeError on the way (20 to 40
    a page: 2-5 % of its instructions). The user is worked out on every request anyway (the
    second-factor gate asks who it is), so nothing is read that was not read before.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        while isinstance(user, LazyObject):
            if user._wrapped is empty:
                user._setup()
            user = user._wrapped
        if user is not None:
            request.user = user
        return self.get_response(request)
