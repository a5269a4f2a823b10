"""Who did it: the acting user for history rows, and the PHI access log."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import HttpRequest
from simple_history.models import HistoricalRecords

from .models import PhiAccess, User


@dataclass
class _ActingRequest:
    """Stands in for a request so simple-history credits the user a task acts for."""

    user: User


def begin_acting_user(user_id: int | None) -> None:
    if user_id is None:
        return
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        HistoricalRecords.context.request = _ActingRequest(user)


def end_acting_user() -> None:
    if isinstance(getattr(HistoricalRecords.context, "request", None), _ActingRequest):
        del HistoricalRecords.context.request


@contextmanager
def acting_as(user: User) -> Iterator[None]:
    """Credit history rows written inside the block to `user` (tasks, commands, imports)."""
    previous = getattr(HistoricalRecords.context, "request", None)
    HistoricalRecords.context.request = _ActingRequest(user)
    try:
        yield
    finally:
        if previous is None:
            del HistoricalRecords.context.request
        else:
            HistoricalRecords.context.request = previous


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def log_phi_access(
    *,
    user: User,
    subject_type: str,
    subject_ids: Iterable[int],
    action: str = PhiAccess.Action.VIEW,
    case_id: int | None = None,
    request: HttpRequest | None = None,
    detail: str = "",
) -> int:
    """Record that `user` read the PHI of these subjects; one INSERT whatever their number."""
    path = request.path[:300] if request is not None else ""
    ip = _client_ip(request)
    rows = [
        PhiAccess(
            user=user,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            case_id=case_id,
            path=path,
            ip_address=ip,
            detail=detail[:200],
        )
        for subject_id in dict.fromkeys(subject_ids)
    ]
    PhiAccess.objects.bulk_create(rows)
    return len(rows)
