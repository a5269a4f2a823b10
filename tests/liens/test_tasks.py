"""Letter tasks: render, e-mail (retries, final failure), batches; and one run on a real worker."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import transaction
from django.urls import reverse

from cases.models import Document
from liens import letters, tasks
from liens.models import LetterBatch
from recovery.core.models import Notification
from tests.liens.letter_helpers import build_case, document_text, file_lien, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(specialist):
    case, firm, insurer = build_case(specialist)
    file_lien(case, specialist, firm)
    return case, firm, insurer


def _request(case, recipient, user, **extra):
    return letters.request_letter(
        case=case, kind="lien_notice", recipient=recipient, requested_by=user, **extra
    )


def test_render_task_is_idempotent_and_ignores_missing_rows(filed, specialist):
    case, firm, _ = filed
    document = _request(case, firm, specialist)
    assert tasks.render_letter.apply(args=[document.pk]).get() == "ready"
    document.refresh_from_db()
    first = (document.file.name, document.sha256, document.ready_at)
    assert tasks.render_letter.apply(args=[document.pk]).get() == "ready"
    document.refresh_from_db()
    assert (document.file.name, document.sha256, document.ready_at) == first
    assert tasks.render_letter.apply(args=[987654]).get() == "missing"


def test_a_disk_error_is_retried_then_the_letter_fails_and_the_requester_hears(
    filed, specialist, monkeypatch
):
    case, firm, _ = filed
    document = _request(case, firm, specialist)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(letters, "render_letter_pdf", broken)
    assert tasks.render_letter.apply(args=[document.pk]).get() == "failed"
    assert len(calls) == tasks.MAX_RETRIES + 1
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert Notification.objects.filter(
        user=specialist, title__contains="could not be generated"
    ).exists()


def test_a_ready_letter_is_e_mailed_with_the_pdf_attached(
    filed, specialist, django_capture_on_commit_callbacks, settings
):
    case, firm, _ = filed
    settings.DEFAULT_FROM_EMAIL = "TPL Unit <tpl@agency.example>"
    document = _request(case, firm, specialist, deliver=True)
    assert document.delivery == Document.Delivery.QUEUED
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.render_letter.apply(args=[document.pk])
    assert len(callbacks) == 1  # the e-mail follows once the PDF is ready
    assert tasks.deliver_letter.apply(args=[document.pk]).get() == "sent"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [firm.email]
    assert message.from_email == "TPL Unit <tpl@agency.example>"
    assert case.number in message.subject
    assert "Alex Sample" not in message.subject + message.body
    ((name, content, mimetype),) = message.attachments
    assert name == f"{case.number}-lien_notice.pdf" and mimetype == "application/pdf"
    document.refresh_from_db()
    assert content == document.file.open("rb").read()
    assert document.delivery == Document.Delivery.SENT and document.delivered_at
    assert document.delivery_attempts == 1
    # Sent once: running the task again sends nothing.
    assert tasks.deliver_letter.apply(args=[document.pk]).get() == "sent"
    assert len(mail.outbox) == 1


def test_an_insurer_letter_goes_to_the_adjusters_address(filed, specialist):
    case, _, insurer = filed
    link = case.case_parties.get(party=insurer)
    link.adjuster_email = "pat.adjuster@acme.example"
    link.save()
    document = letters.render_document(_request(case, insurer, specialist))
    letters.deliver_letter(document)
    assert mail.outbox[0].to == ["pat.adjuster@acme.example"]


def test_without_an_address_the_letter_stays_undelivered_with_the_reason(client, filed, specialist):
    case, firm, _ = filed
    firm.email = ""
    firm.save()
    document = letters.render_document(_request(case, firm, specialist))
    letters.queue_delivery(document=document, requested_by=specialist)
    assert tasks.deliver_letter.apply(args=[document.pk]).get() == "none"
    document.refresh_from_db()
    assert document.delivery == Document.Delivery.NONE
    assert "No e-mail address" in document.delivery_error
    assert not mail.outbox
    client.force_login(specialist)
    page = client.get(reverse("liens:case-letters", args=[case.pk])).content.decode()
    assert "No e-mail address on file for the recipient" in page


def test_an_smtp_failure_is_retried_then_marked_failed_and_the_requester_notified(
    filed, specialist, monkeypatch
):
    case, firm, _ = filed
    document = letters.render_document(_request(case, firm, specialist))
    letters.queue_delivery(document=document, requested_by=specialist)
    attempts = []

    def refuse(self, messages):
        attempts.append(len(messages))
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse)
    assert tasks.deliver_letter.apply(args=[document.pk]).get() == "failed"
    assert len(attempts) == tasks.MAX_RETRIES + 1
    document.refresh_from_db()
    assert document.delivery == Document.Delivery.FAILED
    assert document.delivery_attempts == tasks.MAX_RETRIES + 1
    assert "SMTPServerDisconnected" in document.delivery_error
    note = Notification.objects.get(user=specialist, kind="letter")
    assert "could not be e-mailed" in note.title
    assert note.link == reverse("liens:case-letters", args=[case.pk])


def test_an_smtp_failure_then_success_sends_once(filed, specialist, monkeypatch):
    case, firm, _ = filed
    document = letters.render_document(_request(case, firm, specialist))
    letters.queue_delivery(document=document, requested_by=specialist)
    real_send = locmem.EmailBackend.send_messages
    failures = iter([True, True])

    def flaky(self, messages):
        if next(failures, False):
            raise smtplib.SMTPConnectError(421, "try later")
        return real_send(self, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", flaky)
    assert tasks.deliver_letter.apply(args=[document.pk]).get() == "sent"
    assert len(mail.outbox) == 1
    document.refresh_from_db()
    assert document.delivery_attempts == 3 and document.delivery_error == ""


def test_the_batch_task_runs_the_batch(filed, specialist):
    case, firm, _ = filed
    from django.utils import timezone

    case.activities.update(occurred_at=timezone.now() - timezone.timedelta(days=120))
    batch = letters.start_batch(
        kind="information_request",
        cases=letters.cases_without_recent_contact(specialist),
        recipient_role="attorney_of_record",
        created_by=specialist,
    )
    assert (
        tasks.run_batch.apply(args=[batch.pk], kwargs={"acting_user_id": specialist.pk}).get()
        == "done"
    )
    assert tasks.run_batch.apply(args=[batch.pk]).get() == "done"
    batch.refresh_from_db()
    assert (batch.total, batch.done) == (1, 1)
    assert LetterBatch.objects.count() == 1


@pytest.fixture
def shared_media(settings, monkeypatch):
    """The worker process writes the PDF where this test reads it."""
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


@pytest.mark.celery_worker
def test_a_real_worker_renders_a_requested_letter(
    shared_media, real_worker, specialist, tmp_path, monkeypatch
):
    case, firm, _ = build_case(specialist)
    file_lien(case, specialist, firm)
    # Only the task sent below to this worker's queue runs; the on-commit send is held back.
    held = []
    monkeypatch.setattr(tasks.render_letter, "delay", lambda *a, **kw: held.append((a, kw)))
    with transaction.atomic():
        document = _request(case, firm, specialist)
    assert held == [((document.pk,), {"acting_user_id": specialist.pk})]
    result = tasks.render_letter.apply_async(
        args=[document.pk], kwargs={"acting_user_id": specialist.pk}, queue=real_worker
    )
    assert result.get(timeout=60) == "ready"
    document.refresh_from_db()
    assert document.status == Document.Status.READY and document.pages >= 2
    text = document_text(document, tmp_path)
    assert case.number in text and "Smith & Jones LLP" in text and "$300.00" in text
    with document.file.open("rb") as handle:
        assert "NOTICE OF MEDICAID LIEN" in pdf_text(handle.read(), tmp_path)
    assert (
        Document.history.filter(id=document.pk, status="ready").first().history_user == specialist
    )
