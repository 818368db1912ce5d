"""Staff who owe a second factor reach nothing but its page and logout.

After the password step a staff account with a device is logged in but not verified: it is
sent to the code page. One the setting obliges to enrol (MAILADMIN_REQUIRE_2FA) and who has no
device yet is sent to enrolment. Mailbox users (non-staff) are never stopped here.
Must come after django_otp's OTPMiddleware.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

from mailadmin.staff import twofactor


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff or user.is_verified():
            return self.get_response(request)
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return self.get_response(request)
        if twofactor.owes_code(request):
            gate = reverse("login-code")
        elif twofactor.must_enrol(user):
            gate = reverse("security-enrol")
        else:
            return self.get_response(request)
        if request.path_info in (gate, reverse("logout")):
            return self.get_response(request)
        return redirect_to_login(request.get_full_path(), gate)
