from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def escalate_stale_approvals(acting_user_id: int | None = None) -> list[int]:
    """Hourly: settlements waiting past the approval window move up a level (safe to re-run:
    the notification key and the escalation stamp make a second run a no-op)."""
    return services.escalate_stale_approvals()


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def mark_missed_installments(acting_user_id: int | None = None) -> int:
    """Daily: installments past due and unpaid become missed."""
    return services.mark_missed_installments()
