"""Writes of the core: notifications and account housekeeping."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Notification, User


def notify(
    *, user: User, kind: str, title: str, body: str = "", link: str = "", key: str | None = None
) -> Notification | None:
    """Create an in-app notification; with a `key`, at most one ever exists for it.

    Returns the new notification, or None when one with the same key already existed. The
    unique constraint decides, so two workers racing on the same key create one row.
    """
    fields = {"user": user, "kind": kind, "title": title, "body": body, "link": link}
    if key is None:
        return Notification.objects.create(**fields)
    notification, created = Notification.objects.get_or_create(key=key, defaults=fields)
    return notification if created else None


@transaction.atomic
def deactivate_dormant_accounts(*, now=None) -> list[int]:
    """Disable staff and attorney accounts unused for DORMANT_ACCOUNT_DAYS (HIPAA access
    review). Each change is saved through the model so it lands in the user's history."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DORMANT_ACCOUNT_DAYS)
    dormant = User.objects.select_for_update().filter(
        is_active=True, is_superuser=False, last_login__lt=cutoff
    )
    changed = []
    for user in dormant:
        user.is_active = False
        user._change_reason = f"No sign-in for {settings.DORMANT_ACCOUNT_DAYS} days"
        user.save(update_fields=["is_active"])
        changed.append(user.pk)
    return changed
