"""Letter tasks: each takes ids, loads rows, calls the letter service, and is safe to run twice.

`acting_user_id` credits the history rows a task writes to the user who asked (see
recovery/celery.py). Retries back off exponentially: 10 s, 20 s, 40 s, 80 s, 160 s.
"""

import logging
import smtplib

from celery import shared_task

from cases.models import Document

from . import letters

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
# What a mail server or the network raises when sending fails now but may work later (timeouts
# and refused connections are OSErrors).
DELIVERY_ERRORS = (smtplib.SMTPException, OSError)


def backoff(retries: int) -> int:
    return min(10 * 2**retries, 600)


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def render_letter(self, document_id: int, acting_user_id: int | None = None) -> str:
    """Render a letter's PDF. A ready letter is left alone; a letter whose template or data is
    broken fails at once (the requester is told); disk or database trouble is retried."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return "missing"
    try:
        document = letters.render_document(document)
    except letters.TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.error("letter %s: rendering gave up after retries", document_id)
            letters.mark_render_failed(
                document_id, f"The letter could not be generated ({type(exc).__name__})."
            )
            return Document.Status.FAILED
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return document.status


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def deliver_letter(self, document_id: int, acting_user_id: int | None = None) -> str:
    """E-mail a ready letter. Mail-server errors are retried; after the last one the delivery is
    marked failed and the requester notified. Sent letters are never sent again."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return "missing"
    try:
        document = letters.deliver_letter(document)
    except DELIVERY_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.error("letter %s: e-mail gave up after %d retries", document_id, MAX_RETRIES)
            letters.mark_delivery_failed(
                document_id,
                f"E-mail failed after {MAX_RETRIES + 1} attempts ({type(exc).__name__}). "
                "Check the address or post the letter.",
            )
            return Document.Delivery.FAILED
        logger.warning("letter %s: e-mail attempt failed, retrying", document_id)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return document.delivery


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_batch(self, batch_id: int, acting_user_id: int | None = None) -> str:
    """Generate a batch's letters. If the worker dies, the redelivered task resumes where the
    batch stopped; finished cases are not done again."""
    try:
        batch = letters.run_batch(batch_id)
    except letters.TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return batch.status if batch else "missing"
