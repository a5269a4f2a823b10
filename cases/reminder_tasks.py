"""Scheduled jobs for deadlines and leads; beat schedules come from migration cases 0006.

Celery autodiscovers only `tasks.py`, so this module is listed in `CELERY_IMPORTS` and its tasks
carry explicit names (the names the beat schedules use). Each task is safe to run twice: the
work it claims is decided by the database (see `cases.reminders`).
"""

from datetime import date

from celery import shared_task

from recovery.core.models import User

from . import reminders

RETRY = {
    "acks_late": True,
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 5,
}


@shared_task(name="cases.scan_deadlines", **RETRY)
def scan_deadlines_task(today: str | None = None, acting_user_id: int | None = None) -> dict:
    """Daily: reminders for deadlines entering a threshold, escalation of overdue ones.

    `today` (ISO date) lets an operator re-run a missed day; by default, the local date.
    """
    return reminders.scan_deadlines(today=date.fromisoformat(today) if today else None)


@shared_task(name="cases.send_reminder_digests", **RETRY)
def send_digests_task(acting_user_id: int | None = None) -> int:
    """Daily, after the scan: one e-mail per user with their reminders not yet e-mailed."""
    return reminders.send_digests()


@shared_task(name="cases.queue_lead_letters", **RETRY)
def queue_lead_letters_task(acting_user_id: int | None = None) -> int:
    """Monthly: accident questionnaires to members with new screening leads, requested by
    `acting_user_id` when given (see `reminders.queue_lead_letters` otherwise)."""
    requested_by = User.objects.filter(pk=acting_user_id).first() if acting_user_id else None
    return reminders.queue_lead_letters(requested_by=requested_by)
