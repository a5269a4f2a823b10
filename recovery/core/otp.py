"""Optional TOTP second factor (django-otp) for people who sign in with a password.

A signed-in user must verify a 6-digit code before reaching any page when

* their role is listed in ``settings.OTP_REQUIRED_ROLES`` (e.g. ``OTP_REQUIRED_ROLES=supervisor,admin``),
  or
* they are staff (not a portal attorney) and have a confirmed TOTP device (enrolled themselves, or
  an admin added one to their account in the Django admin under "TOTP devices": that is how to
  require it for a single user).

A user who must have a second factor but has no device yet is sent to set one up first.

Whether the user has a confirmed device is read once, at login, and kept in the session, so pages
pay no extra query; a device an admin adds takes effect from the user's next login.

API token authentication is unaffected: tokens are for service accounts and outside tools, and DRF
authenticates them in the view, after this middleware. A browser session on the API is held to the
same rule as pages.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

SETUP_URL_NAME = "otp-setup"
VERIFY_URL_NAME = "otp-verify"
# Session flag: does the signed-in user have a confirmed device (so must verify whatever the role)?
HAS_DEVICE_SESSION_KEY = "otp_has_device"


def confirmed_devices(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True)


def has_confirmed_device(user) -> bool:
    return confirmed_devices(user).exists()


def role_requires_otp(user) -> bool:
    return getattr(user, "role", None) in set(settings.OTP_REQUIRED_ROLES)


def session_has_device(request) -> bool:
    """The login-time answer kept in the session; looked up (once) if the session predates it."""
    flag = request.session.get(HAS_DEVICE_SESSION_KEY)
    if flag is None:
        flag = has_confirmed_device(request.user)
        request.session[HAS_DEVICE_SESSION_KEY] = flag
    return flag


@receiver(user_logged_in, dispatch_uid="recovery.core.otp.remember_device")
def remember_device(sender, request, user, **kwargs):
    if (
        request is not None
        and hasattr(request, "session")
        and getattr(user, "is_staff_role", False)
    ):
        request.session[HAS_DEVICE_SESSION_KEY] = has_confirmed_device(user)


def is_verified(user) -> bool:
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


class RequireOTPMiddleware:
    """Hold an unverified, OTP-bound session on the OTP pages until a code is verified.

    Goes after django_otp's OTPMiddleware, which sets ``request.user.is_verified()``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._intercept(request)
        return response if response is not None else self.get_response(request)

    def _exempt(self, request) -> bool:
        path = request.path_info
        if path.startswith(settings.STATIC_URL):
            return True
        exempt = {reverse(SETUP_URL_NAME), reverse(VERIFY_URL_NAME), reverse("logout")}
        return path in exempt

    def _intercept(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_verified(user):
            return None
        if self._exempt(request):
            return None
        # Token-authenticated API calls are DRF's business (service accounts), not the session's.
        if request.headers.get("Authorization", "").startswith("Token "):
            return None
        if not role_requires_otp(user):
            # Portal attorneys owe a second factor only when their role is listed.
            if not getattr(user, "is_staff_role", False) or not session_has_device(request):
                return None
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": "A second factor is required: verify a code in the browser first."},
                status=403,
            )
        target = VERIFY_URL_NAME if has_confirmed_device(user) else SETUP_URL_NAME
        url = reverse(target)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return redirect(url)
