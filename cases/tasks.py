"""Background work for cases: the claims import.

A task takes ids, loads the rows it needs and calls a service. The acting user arrives as the
``acting_user_id`` keyword, which ``recovery.celery`` turns into the author of every history row
the task writes.
"""

from celery import shared_task

from .imports import run_import
from .models import ImportBatch


@shared_task(name="cases.import_claims", acks_late=True)
def import_claims(batch_id: int, acting_user_id: int | None = None) -> str:
    """Import a stored claims file. Safe to run twice (a redelivery after a worker died, a
    duplicate enqueue): a finished batch returns at once, and the load itself is one
    transaction, so a run that died left nothing behind."""
    status = ImportBatch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
    if status is None or status == ImportBatch.Status.DONE:
        return status or "missing"
    return run_import(batch_id=batch_id).status
