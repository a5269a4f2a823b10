from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def deactivate_dormant_accounts(acting_user_id: int | None = None) -> list[int]:
    """Daily: disable accounts unused for the configured number of days. Safe to run twice."""
    return services.deactivate_dormant_accounts()
