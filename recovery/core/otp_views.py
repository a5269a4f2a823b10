"""Pages for the TOTP second factor: enrol an authenticator app, and verify a code after login."""

import base64
import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .otp import (
    HAS_DEVICE_SESSION_KEY,
    SETUP_URL_NAME,
    VERIFY_URL_NAME,
    confirmed_devices,
    is_verified,
)

CODE_RE = re.compile(r"^\d{6}$")
DEVICE_NAME = "Authenticator app"


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _with_next(name: str, request) -> str:
    next_url = request.POST.get("next") or request.GET.get("next")
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _read_code(request) -> str | None:
    code = re.sub(r"\s+", "", request.POST.get("code", ""))
    return code if CODE_RE.match(code) else None


@login_required
def otp_setup(request):
    """Enrol an authenticator app: show the otpauth:// URI and secret, confirm with a code."""
    user = request.user
    if confirmed_devices(user).exists():
        if is_verified(user):
            messages.info(request, "Two-factor sign-in is already set up for your account.")
            return redirect(_next_url(request))
        # Adding a new device must not get round verifying the existing one.
        return redirect(_with_next(VERIFY_URL_NAME, request))

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)

    error = None
    if request.method == "POST":
        code = _read_code(request)
        if code is not None and device.verify_token(code):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            otp_login(request, device)
            request.session[HAS_DEVICE_SESSION_KEY] = True
            messages.success(request, "Two-factor sign-in is set up.")
            return redirect(_next_url(request))
        error = "That code did not match. Check the clock on your phone and try the current code."

    secret = base64.b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "registration/otp_setup.html",
        {
            "otpauth_uri": device.config_url,
            "secret": secret,
            "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "error": error,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=400 if error else 200,
    )


@login_required
def otp_verify(request):
    """Second step of sign-in: a 6-digit code from the user's authenticator app."""
    user = request.user
    if is_verified(user):
        return redirect(_next_url(request))
    devices = list(confirmed_devices(user))
    if not devices:
        return redirect(_with_next(SETUP_URL_NAME, request))

    error = None
    if request.method == "POST":
        # django-otp throttles each device: after a wrong code the next try waits 1 s, 2 s, 4 s...
        throttled = not any(device.verify_is_allowed()[0] for device in devices)
        code = _read_code(request)
        if code is not None and not throttled:
            for device in devices:
                if device.verify_token(code):
                    otp_login(request, device)
                    return redirect(_next_url(request))
        if throttled:
            error = "Too many wrong codes. Wait a little, then try again."
        else:
            error = "That code did not match. Try the current code from your authenticator app."

    return render(
        request,
        "registration/otp_verify.html",
        {"error": error, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=400 if error else 200,
    )
