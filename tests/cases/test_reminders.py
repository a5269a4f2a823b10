import importlib
import sys
import threading
import time
import types
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from cases import reminders
from cases.models import Activity, Case, Deadline, Lead, Reminder
from recovery.core.exceptions import Conflict
from recovery.core.models import Notification, Role
from tests import factories
from tests.conftest import make_user

TODAY = date(2026, 6, 1)  # a Monday; the factories' SOL deadlines fall in 2027


def deadline(case, days_left: int, *, owner="assignee", title="Send notice of lien", **extra):
    return Deadline.objects.create(
        case=case,
        kind=Deadline.Kind.RESPONSE_DUE,
        title=title,
        due_date=TODAY + timedelta(days=days_left),
        owner=case.assigned_to if owner == "assignee" else owner,
        **extra,
    )


def sent(item: Deadline) -> list[int]:
    return sorted(item.reminders.values_list("threshold", flat=True), reverse=True)


@pytest.fixture
def case(specialist):
    return factories.open_case(
        specialist, factories.member(first="Zebulon", last="Quixotic"), incident_date=TODAY
    )


@pytest.fixture(params=["sql", "orm"])
def path(request, monkeypatch):
    """Run a test through the PostgreSQL statements and through the portable ORM path."""
    if request.param == "orm":
        monkeypatch.setattr(reminders, "_use_sql", lambda: False)
    elif connection.vendor != "postgresql":
        pytest.skip("the set-based SQL path runs on PostgreSQL")
    return request.param


# ---------------------------------------------------------------------------------------------
# Which reminder, when
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "days_left, expected",
    [
        (15, []),
        (14, [14]),
        (8, [14]),
        (7, [7]),
        (3, [7]),  # created late: only the band it is in, never the ones already passed
        (2, [7]),
        (1, [1]),
        (0, [1]),  # due today
        (-1, [Reminder.OVERDUE]),
        (-40, [Reminder.OVERDUE]),
    ],
)
def test_a_deadline_gets_the_reminder_of_the_band_it_is_in(path, case, days_left, expected):
    item = deadline(case, days_left)
    reminders.scan_deadlines(today=TODAY)
    assert sent(item) == expected


@pytest.mark.django_db
def test_one_deadline_walks_through_every_threshold_once(path, case):
    item = deadline(case, 20)
    for day in range(0, 30):
        reminders.scan_deadlines(today=TODAY + timedelta(days=day))
    assert sent(item) == [14, 7, 1, Reminder.OVERDUE]
    assert Notification.objects.filter(key__startswith="reminder:").count() == 5  # +escalation


@pytest.mark.django_db
def test_thresholds_come_from_settings(path, case, settings):
    settings.REMINDER_THRESHOLDS = (30, 3)
    far, near = deadline(case, 20), deadline(case, 2)
    result = reminders.scan_deadlines(today=TODAY)
    assert (sent(far), sent(near)) == ([30], [3])
    assert result["by_threshold"] == {"30": 1, "3": 1}


@pytest.mark.django_db
def test_done_deadlines_and_closed_cases_get_nothing(path, case, specialist):
    deadline(case, 1, done_at=timezone.now())
    closed = factories.open_case(specialist, incident_date=TODAY)
    deadline(closed, -3)
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    assert reminders.scan_deadlines(today=TODAY)["reminders"] == 0
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_owner_is_notified_with_the_case_number_and_a_link(path, case, specialist):
    item = deadline(case, 7)
    result = reminders.scan_deadlines(today=TODAY)
    assert result["by_threshold"]["7"] == 1
    note = Notification.objects.get(user=specialist)
    assert note.kind == "deadline_reminder"
    assert note.title == f"{case.number}: Send notice of lien is due in 7 days"
    assert note.body == "Due 2026-06-08."
    assert note.link == f"/cases/{case.pk}/tasks/"
    assert note.key == f"reminder:{item.reminders.get().pk}"


# ---------------------------------------------------------------------------------------------
# Overdue: escalation
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_overdue_deadline_escalates_to_the_supervisor_and_notifies_both(
    path, case, specialist, supervisor
):
    item = deadline(case, -2)
    result = reminders.scan_deadlines(today=TODAY)
    assert result["overdue"] == 1
    reminder = item.reminders.get()
    assert (reminder.threshold, reminder.user, reminder.escalated_to) == (
        Reminder.OVERDUE,
        specialist,
        supervisor,
    )
    owner_note = Notification.objects.get(user=specialist)
    assert owner_note.kind == "deadline_overdue"
    assert owner_note.title == f"{case.number}: Send notice of lien is overdue"
    assert "escalated to your supervisor" in owner_note.body
    boss_note = Notification.objects.get(user=supervisor)
    assert boss_note.kind == "deadline_escalation"
    assert boss_note.title == f"Escalated: {case.number}: Send notice of lien is overdue"
    assert boss_note.body == "Owner: Specialist Example. It was due 2026-05-30."


@pytest.mark.django_db
def test_a_deadline_without_owner_reminds_the_assignee_and_escalates_to_their_supervisor(
    path, case, specialist, supervisor
):
    item = deadline(case, -1, owner=None)
    reminders.scan_deadlines(today=TODAY)
    reminder = item.reminders.get()
    assert (reminder.user, reminder.escalated_to) == (specialist, supervisor)


@pytest.mark.django_db
def test_an_unowned_unassigned_deadline_escalates_to_the_case_teams_supervisor(
    path, case, supervisor
):
    Case.objects.filter(pk=case.pk).update(assigned_to=None)
    item = deadline(case, -1, owner=None)
    result = reminders.scan_deadlines(today=TODAY)
    reminder = item.reminders.get()
    assert (reminder.user, reminder.escalated_to) == (None, supervisor)
    assert result["notifications"] == 1
    assert Notification.objects.get().body == "Owner: nobody. It was due 2026-05-31."


@pytest.mark.django_db
def test_a_deactivated_owner_is_replaced_by_the_assignee(path, case, specialist, team_east):
    leaver = make_user("leaver", Role.SPECIALIST, team_east, is_active=False)
    item = deadline(case, 3, owner=leaver)
    reminders.scan_deadlines(today=TODAY)
    assert item.reminders.get().user == specialist


@pytest.mark.django_db
def test_a_supervisors_own_overdue_deadline_is_not_escalated_to_themselves(path, supervisor):
    own = factories.open_case(supervisor, incident_date=TODAY, assigned_to=supervisor)
    item = deadline(own, -1, owner=supervisor)
    reminders.scan_deadlines(today=TODAY)
    reminder = item.reminders.get()
    assert (reminder.user, reminder.escalated_to) == (supervisor, None)
    assert Notification.objects.get().body == "It was due 2026-05-31."


# ---------------------------------------------------------------------------------------------
# Once, whatever happens
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_scan_twice_sends_each_reminder_once(path, case, specialist2):
    other = factories.open_case(specialist2, incident_date=TODAY)
    for days_left in (14, 7, 1, -1):
        deadline(case, days_left)
        deadline(other, days_left)
    first = reminders.scan_deadlines(today=TODAY)
    second = reminders.scan_deadlines(today=TODAY)
    assert first["reminders"] == 8
    assert first["notifications"] == 10  # 8 owners + 2 supervisors for the overdue ones
    assert (second["reminders"], second["notifications"]) == (0, 0)
    assert Reminder.objects.count() == 8
    assert Notification.objects.count() == 10


@pytest.mark.django_db
def test_a_crash_before_the_notifications_leaves_nothing_and_the_retry_does_both(
    path, case, monkeypatch
):
    deadline(case, 7)
    deadline(case, -1)
    step = "_notify_new_reminders_sql" if path == "sql" else "_notify_new_reminders_orm"
    real_step = getattr(reminders, step)

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(reminders, step, crash)
    with pytest.raises(RuntimeError):
        reminders.scan_deadlines(today=TODAY)
    assert not Reminder.objects.exists()
    assert not Notification.objects.exists()

    monkeypatch.setattr(reminders, step, real_step)
    result = reminders.scan_deadlines(today=TODAY)
    assert (result["reminders"], result["notifications"]) == (2, 3)
    assert Reminder.objects.count() == 2
    assert Notification.objects.count() == 3


@pytest.mark.django_db
def test_the_sql_and_orm_paths_write_the_same_rows(case, specialist2, supervisor, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("compares with the PostgreSQL path")
    other = factories.open_case(specialist2, incident_date=TODAY)
    for days_left in (14, 9, 7, 1, 0, -1, -30):
        deadline(case, days_left, title=f"Task {days_left} " + "x" * 150)
        deadline(other, days_left, owner=None)

    def snapshot():
        rows = sorted(
            Reminder.objects.values_list("deadline_id", "threshold", "user_id", "escalated_to_id")
        )
        ids = {
            pk: (d, t)
            for pk, d, t in Reminder.objects.values_list("pk", "deadline_id", "threshold")
        }
        notes = sorted(
            (
                ids[int(n.key.split(":")[1])],
                n.key.count(":"),
                n.user_id,
                n.kind,
                n.title,
                n.body,
                n.link,
            )
            for n in Notification.objects.all()
        )
        return rows, notes

    reminders.scan_deadlines(today=TODAY)
    by_sql = snapshot()
    Notification.objects.all().delete()
    Reminder.objects.all().delete()
    monkeypatch.setattr(reminders, "_use_sql", lambda: False)
    reminders.scan_deadlines(today=TODAY)
    assert snapshot() == by_sql
    assert len(by_sql[1]) == 14 + 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_scans_at_once_insert_each_reminder_once(specialist):
    """The second scan's INSERT waits on the first one's uncommitted rows, then skips them."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent transactions")
    item = deadline(factories.open_case(specialist, incident_date=TODAY), -1)
    results = {}

    def second_scan():
        try:
            results["second"] = reminders.scan_deadlines(today=TODAY)
        finally:
            connection.close()

    with transaction.atomic():
        results["first"] = reminders.scan_deadlines(today=TODAY)
        other = threading.Thread(target=second_scan)
        other.start()
        time.sleep(0.5)  # the second scan is now blocked on the first one's unique index rows
        assert other.is_alive()
    other.join(timeout=30)
    assert results["first"]["reminders"] == 1
    assert (results["second"]["reminders"], results["second"]["notifications"]) == (0, 0)
    assert item.reminders.count() == 1
    assert Notification.objects.count() == 2


# ---------------------------------------------------------------------------------------------
# E-mail digests
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_digest_per_user_then_nothing(case, specialist, specialist2, supervisor, settings):
    settings.SITE_URL = "https://recovery.example.org"
    other = factories.open_case(specialist2, incident_date=TODAY)
    deadline(case, 7, title="Call the adjuster")
    deadline(case, 1, title="Answer the attorney")
    deadline(case, -3, title="Send final demand")
    deadline(other, 14, title="Review the settlement")
    reminders.scan_deadlines(today=TODAY)

    assert reminders.send_digests() == 3
    by_user = {message.to[0]: message for message in mail.outbox}
    assert set(by_user) == {
        "specialist@example.org",
        "specialist2@example.org",
        "supervisor@example.org",
    }
    mine = by_user["specialist@example.org"]
    assert mine.subject == "Recovery: 3 deadline reminders"
    assert f"{case.number}  Call the adjuster" in mine.body
    assert f"https://recovery.example.org/cases/{case.pk}/tasks/" in mine.body
    escalated = by_user["supervisor@example.org"].body
    assert "Escalated to you" in escalated and "owner: Specialist Example" in escalated
    for message in mail.outbox:
        assert "Zebulon" not in message.body and "Quixotic" not in message.body
        assert case.member.program_id not in message.body
    assert not Reminder.objects.filter(emailed_at__isnull=True).exists()

    assert reminders.send_digests() == 0
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_a_claimed_reminder_is_not_claimed_again(case):
    deadline(case, 7)
    reminders.scan_deadlines(today=TODAY)
    now = timezone.now()
    assert len(reminders._claim_unsent(now)) == 1
    assert reminders._claim_unsent(now) == []


@pytest.mark.django_db
def test_a_failed_digest_releases_its_reminders_for_the_next_run(case, specialist2, monkeypatch):
    other = factories.open_case(specialist2, incident_date=TODAY)
    deadline(case, 7)
    deadline(other, 7)
    reminders.scan_deadlines(today=TODAY)
    real_send = mail.EmailMessage.send

    def flaky(message, *args, **kwargs):
        if message.to == ["specialist2@example.org"]:
            raise ConnectionError("mailbox unavailable")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(mail.EmailMessage, "send", flaky)
    with pytest.raises(reminders.DigestDeliveryFailed):
        reminders.send_digests()
    assert [m.to for m in mail.outbox] == [["specialist@example.org"]]
    assert Reminder.objects.get(deadline__case=other).emailed_at is None

    monkeypatch.setattr(mail.EmailMessage, "send", real_send)
    assert reminders.send_digests() == 1
    assert [m.to for m in mail.outbox][-1] == ["specialist2@example.org"]


# ---------------------------------------------------------------------------------------------
# Scheduling and the worker
# ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_beat_schedules_are_created_by_migration():
    from django.apps import apps
    from django.db.migrations.recorder import MigrationRecorder
    from django_celery_beat.models import PeriodicTask

    from cases import reminder_tasks

    migration = importlib.import_module("cases.migrations.0006_reminder_schedules")
    assert ("cases", "0006_reminder_schedules") in MigrationRecorder(
        connection
    ).applied_migrations()
    # Re-running it is harmless (and restores the rows if a transactional test flushed them).
    migration.create_schedules(apps, None)
    expected = {
        "cases.scan_deadlines": ("0", "6", "*"),
        "cases.send_reminder_digests": ("30", "6", "*"),
        "cases.queue_lead_letters": ("0", "7", "1"),
    }
    for name, (minute, hour, day_of_month) in expected.items():
        task = PeriodicTask.objects.select_related("crontab").get(task=name)
        assert task.enabled
        assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_month) == (
            minute,
            hour,
            day_of_month,
        )
    registered = {
        reminder_tasks.scan_deadlines_task.name,
        reminder_tasks.send_digests_task.name,
        reminder_tasks.queue_lead_letters_task.name,
    }
    assert registered == set(expected)


@pytest.fixture
def _worker_imports_reminder_tasks(monkeypatch):
    # Until settings list the module in CELERY_IMPORTS, ask the worker to import it
    # (celery's CLI reads CELERY_WORKER_INCLUDE for `worker --include`).
    monkeypatch.setenv("CELERY_WORKER_INCLUDE", "cases.reminder_tasks")


@pytest.fixture
def reminder_worker(_worker_imports_reminder_tasks, real_worker):
    return real_worker


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_scan_runs_on_a_real_worker_over_redis(reminder_worker, specialist, supervisor):
    from cases.reminder_tasks import scan_deadlines_task

    item = deadline(factories.open_case(specialist, incident_date=TODAY), -1)
    result = scan_deadlines_task.apply_async(
        kwargs={"today": TODAY.isoformat()}, queue=reminder_worker
    )
    assert result.get(timeout=30)["overdue"] == 1
    again = scan_deadlines_task.apply_async(
        kwargs={"today": TODAY.isoformat()}, queue=reminder_worker
    )
    assert again.get(timeout=30)["reminders"] == 0
    assert item.reminders.get().escalated_to == supervisor
    assert set(Notification.objects.values_list("user__username", flat=True)) == {
        "specialist",
        "supervisor",
    }


# ---------------------------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------------------------


def lead(**extra) -> Lead:
    return Lead.objects.create(
        member=factories.member(), first_service=date(2026, 4, 2), hit_lines=3, **extra
    )


@pytest.fixture
def letters_stub(monkeypatch):
    """Stands in for `liens.letters` so the selection and status change can be tested alone."""
    requested = []
    module = types.ModuleType("liens.letters")
    module.request_letter = lambda **kwargs: requested.append(kwargs)
    monkeypatch.setitem(sys.modules, "liens.letters", module)
    return requested


@pytest.mark.django_db
def test_new_leads_get_one_questionnaire_and_move_to_letter_sent(letters_stub, admin_user):
    fresh, other = lead(), lead()
    done = lead(status=Lead.Status.DISMISSED)
    assert reminders.queue_lead_letters() == 2
    assert reminders.queue_lead_letters() == 0
    assert sorted(r["member"].pk for r in letters_stub) == sorted(
        [fresh.member_id, other.member_id]
    )
    assert {r["kind"] for r in letters_stub} == {"member_questionnaire"}
    assert all(r["case"] is None and r["recipient"] is None for r in letters_stub)
    assert {r["requested_by"] for r in letters_stub} == {admin_user}
    fresh.refresh_from_db()
    done.refresh_from_db()
    assert (fresh.status, done.status) == (Lead.Status.LETTER_SENT, Lead.Status.DISMISSED)


@pytest.mark.django_db
def test_without_the_letters_module_no_lead_changes(monkeypatch, admin_user):
    monkeypatch.setitem(sys.modules, "liens.letters", None)  # makes the import fail
    item = lead()
    assert reminders.queue_lead_letters() == 0
    item.refresh_from_db()
    assert item.status == Lead.Status.NEW


@pytest.mark.django_db
def test_without_anyone_to_sign_no_letter_is_queued(letters_stub):
    item = lead()
    assert reminders.queue_lead_letters() == 0
    item.refresh_from_db()
    assert item.status == Lead.Status.NEW
    assert letters_stub == []


@pytest.mark.django_db
def test_the_configured_user_signs_the_questionnaires(letters_stub, supervisor, settings):
    settings.LEAD_LETTERS_REQUESTED_BY = "supervisor"
    lead()
    assert reminders.queue_lead_letters() == 1
    assert letters_stub[0]["requested_by"] == supervisor


@pytest.mark.django_db
def test_lead_letters_through_the_real_letters_module(
    specialist, django_capture_on_commit_callbacks
):
    letters = pytest.importorskip("liens.letters")
    assert hasattr(letters, "request_letter")
    item = lead()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reminders.queue_lead_letters(requested_by=specialist) == 1
    assert len(callbacks) == 1  # the PDF is rendered by a task after commit
    item.refresh_from_db()
    assert item.status == Lead.Status.LETTER_SENT
    assert item.member.documents.filter(kind="member_questionnaire").exists()


@pytest.mark.django_db
def test_a_reply_naming_an_attorney_opens_a_questionnaire_case(specialist):
    florida = factories.jurisdiction("FL")
    item = lead(status=Lead.Status.LETTER_SENT)
    case = reminders.capture_questionnaire_reply(
        lead=item,
        received_by=specialist,
        has_attorney=True,
        attorney_name="Example & Partners LLP",
        insurer_name="Acme Mutual",
        accident_date=date(2026, 3, 14),
        description="Rear-ended at a light.",
        incident_kind="auto",
    )
    assert case.source == Case.Source.QUESTIONNAIRE
    assert (case.member, case.incident_date, case.jurisdiction) == (
        item.member,
        date(2026, 3, 14),
        florida,
    )
    reply = case.activities.get(subject="Accident questionnaire returned")
    assert (reply.kind, reply.direction) == (Activity.Kind.LETTER, Activity.Direction.INBOUND)
    assert "Example & Partners LLP" in reply.body and "Acme Mutual" in reply.body
    item.refresh_from_db()
    assert (item.status, item.case) == (Lead.Status.CONVERTED, case)
    assert item.history.first().status == Lead.Status.CONVERTED


@pytest.mark.django_db
def test_a_reply_without_a_third_party_dismisses_the_lead(specialist):
    item = lead(status=Lead.Status.LETTER_SENT)
    result = reminders.capture_questionnaire_reply(
        lead=item,
        received_by=specialist,
        has_attorney=False,
        attorney_name="",
        insurer_name="",
        accident_date=date(2026, 3, 14),
        description="Fell at home.",
    )
    assert result is None
    item.refresh_from_db()
    assert item.status == Lead.Status.DISMISSED
    assert "no third party" in item.reason
    assert not Case.objects.filter(member=item.member).exists()
    with pytest.raises(Conflict):
        reminders.capture_questionnaire_reply(
            lead=item,
            received_by=specialist,
            has_attorney=True,
            attorney_name="Late Lawyer",
            insurer_name="",
            accident_date=date(2026, 3, 14),
            description="",
        )


@pytest.mark.django_db
def test_a_reply_with_a_third_party_needs_the_accident_date(specialist):
    item = lead()
    with pytest.raises(ValidationError):
        reminders.capture_questionnaire_reply(
            lead=item,
            received_by=specialist,
            has_attorney=False,
            attorney_name="",
            insurer_name="Acme Mutual",
            accident_date=None,
            description="",
        )
    item.refresh_from_db()
    assert item.status == Lead.Status.NEW
