from django.conf import settings


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: CSP and Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if request.user.is_authenticated if hasattr(request, "user") else False:
            # Pages with PHI must not be kept by shared browsers or proxies.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
