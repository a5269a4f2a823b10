from django.conf import settings

from .navigation import nav_for


def shell(request):
    """What the base template needs on every page: navigation, unread count, idle timeout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"agency_name": settings.AGENCY_NAME}
    return {
        "agency_name": settings.AGENCY_NAME,
        "nav_items": nav_for(user, request.path),
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
        "session_idle_seconds": settings.SESSION_COOKIE_AGE,
    }
