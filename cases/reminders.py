"""The daily deadline scan, the reminder e-mail digest, and questionnaire letters for leads.

When a reminder is due
----------------------
The thresholds (days before the due date; `settings.REMINDER_THRESHOLDS`, default 14, 7, 1) cut
the days before a due date into bands: with 14/7/1, a deadline 8–14 days away is in the 14-day
band, 2–7 days away in the 7-day band, due tomorrow or today in the 1-day band. An open deadline
gets one reminder for the band it is in — the smallest threshold at or above its days left —
unless that band's reminder exists already. So:

- 15 days left: nothing; 14 down to 8: the 14-day reminder, once; 7 down to 2: the 7-day one.
- A deadline created 3 days before its due date gets only the 7-day reminder (bands already
  passed are not sent late), and a scan that missed a day still catches the band.
- Past its due date and still open: one overdue reminder (threshold -1), escalated to the
  supervisor, and both are notified.

Who is reminded: the deadline's owner; if the owner is missing or deactivated, the case's
assigned specialist. The escalation goes to that person's team supervisor, or else the case
team's supervisor — never back to the person themselves. Deadlines that are done, or on closed
cases, get nothing.

Once, whatever happens
----------------------
`Reminder` is unique on (deadline, threshold) and the database decides: the scan inserts with
ON CONFLICT DO NOTHING and notifies only the rows its own INSERT returned, in the same
transaction. A second run inserts nothing and notifies nobody; a worker that dies half-way
leaves nothing behind and the retry does all of it. The e-mail digest claims reminders with a
conditional UPDATE (`emailed_at IS NULL`) before sending, as healthchecks' `sendalerts` does:
two workers never mail the same reminder. A claimed reminder whose every recipient's e-mail
failed is released for the next run; if the worker dies between claim and send, the e-mail is
lost but the in-app notification stays — an e-mail is sent at most once.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Value, When
from django.utils import timezone

from recovery.core.exceptions import Conflict
from recovery.core.models import Notification, Role, User

from . import services
from .models import Activity, Case, Deadline, IncidentKind, Jurisdiction, Lead, Member, Reminder

logger = logging.getLogger(__name__)

THRESHOLDS: tuple[int, ...] = (14, 7, 1)
OVERDUE = Reminder.OVERDUE
TITLE_CHARS = 120  # of the deadline title inside a notification title (max 200)


def thresholds() -> tuple[int, ...]:
    """The configured thresholds, largest first."""
    values = sorted({int(t) for t in getattr(settings, "REMINDER_THRESHOLDS", THRESHOLDS)})
    if not values or values[0] < 0:
        raise ImproperlyConfigured(
            "REMINDER_THRESHOLDS must be days (0 or more) before a due date."
        )
    return tuple(reversed(values))


# ---------------------------------------------------------------------------------------------
# Texts (the SQL below writes the same words; tests compare both paths)
# ---------------------------------------------------------------------------------------------


def _when(days_left: int) -> str:
    if days_left == 0:
        return "today"
    if days_left == 1:
        return "tomorrow"
    return f"in {days_left} days"


def _person(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else "nobody"


def reminder_texts(
    *, number: str, title: str, due: date, today: date, threshold: int, escalated: bool
) -> tuple[str, str, str]:
    """(kind, title, body) of the notification to the person who owns the deadline."""
    title = title[:TITLE_CHARS]
    if threshold == OVERDUE:
        tail = " It has been escalated to your supervisor." if escalated else ""
        return (
            "deadline_overdue",
            f"{number}: {title} is overdue",
            f"It was due {due.isoformat()}.{tail}",
        )
    return (
        "deadline_reminder",
        f"{number}: {title} is due {_when((due - today).days)}",
        f"Due {due.isoformat()}.",
    )


def escalation_texts(*, number: str, title: str, due: date, owner: str) -> tuple[str, str, str]:
    """(kind, title, body) of the notification to the supervisor of an overdue deadline."""
    return (
        "deadline_escalation",
        f"Escalated: {number}: {title[:TITLE_CHARS]} is overdue",
        f"Owner: {owner}. It was due {due.isoformat()}.",
    )


def _link(case_id: int) -> str:
    return f"/cases/{case_id}/tasks/"


# ---------------------------------------------------------------------------------------------
# The daily scan
# ---------------------------------------------------------------------------------------------


def _use_sql() -> bool:
    return connection.vendor == "postgresql"


def scan_deadlines(*, today: date | None = None) -> dict:
    """Create the reminders that are due today and notify their people; safe to run twice.

    Returns {"reminders": n, "overdue": n, "by_threshold": {"14": n, ...}, "notifications": n}.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    bands = thresholds()
    with transaction.atomic():
        if _use_sql():
            counts = _insert_reminders_sql(today=today, now=now, bands=bands)
            notified = _notify_new_reminders_sql(today=today, now=now)
        else:
            new = _insert_reminders_orm(today=today, now=now, bands=bands)
            counts = defaultdict(int)
            for reminder in new:
                counts[reminder.threshold] += 1
            notified = _notify_new_reminders_orm(new, today=today, now=now)
    return {
        "today": today.isoformat(),
        "reminders": sum(counts.values()),
        "overdue": counts.get(OVERDUE, 0),
        "by_threshold": {str(t): counts.get(t, 0) for t in bands},
        "notifications": notified,
    }


# PostgreSQL: three set-based statements in one transaction. The new reminders go to a
# temporary table (what the INSERT returned), from which the notifications are written.

NEW_TABLE = "reminder_scan_new"


def reminder_insert_sql(*, today: date, now, bands: tuple[int, ...]) -> tuple[str, dict]:
    """The INSERT … SELECT … ON CONFLICT DO NOTHING of the scan (also run bare by the bench)."""
    params: dict = {"today": today, "now": now, "horizon": today + timedelta(days=bands[0])}
    whens = []
    for t in sorted(bands):
        params[f"cut{t}"] = today + timedelta(days=t)
        whens.append(f"WHEN d.due_date <= %(cut{t})s THEN {int(t)}")
    sql = f"""
        WITH due AS (
            SELECT d.id AS deadline_id,
                   CASE WHEN d.due_date < %(today)s THEN {OVERDUE} {" ".join(whens)} END
                       AS threshold,
                   COALESCE(o.id, a.id) AS user_id,
                   CASE WHEN o.id IS NOT NULL THEN o.team_id ELSE a.team_id END AS user_team_id,
                   c.team_id AS case_team_id
              FROM cases_deadline d
              JOIN cases_case c ON c.id = d.case_id
              LEFT JOIN core_user o ON o.id = d.owner_id AND o.is_active
              LEFT JOIN core_user a ON a.id = c.assigned_to_id AND a.is_active
             WHERE d.done_at IS NULL
               AND d.due_date <= %(horizon)s
               AND c.status <> 'closed'
        ), fresh AS (
            SELECT due.deadline_id, due.threshold, due.user_id,
                   CASE WHEN due.threshold = {OVERDUE} THEN
                       COALESCE(NULLIF(ut.supervisor_id, due.user_id),
                                NULLIF(ct.supervisor_id, due.user_id))
                   END AS escalated_to_id
              FROM due
              LEFT JOIN core_team ut ON ut.id = due.user_team_id
              LEFT JOIN core_team ct ON ct.id = due.case_team_id
             WHERE NOT EXISTS (
                   SELECT 1 FROM cases_reminder r
                    WHERE r.deadline_id = due.deadline_id AND r.threshold = due.threshold)
        ), inserted AS (
            INSERT INTO cases_reminder (deadline_id, threshold, user_id, escalated_to_id, created_at)
            SELECT deadline_id, threshold, user_id, escalated_to_id, %(now)s FROM fresh
            ON CONFLICT (deadline_id, threshold) DO NOTHING
            RETURNING id, deadline_id, threshold, user_id, escalated_to_id
        )
        INSERT INTO {NEW_TABLE} SELECT id, deadline_id, threshold, user_id, escalated_to_id
          FROM inserted
    """  # noqa: S608 — only integers from settings are formatted in; values are parameters
    return sql, params


def notification_insert_sql(*, today: date, now) -> tuple[str, dict]:
    """Notifications for the rows in the temporary table; the key makes each one unique.

    One pass over the new reminders, each read twice through a two-row VALUES list: once for
    the person reminded, once for the supervisor an overdue one escalates to.
    """
    title = f"left(d.title, {TITLE_CHARS})"
    sql = f"""
        INSERT INTO core_notification (user_id, kind, title, body, link, key, created_at)
        SELECT CASE WHEN x.escalation THEN r.escalated_to_id ELSE r.user_id END,
               CASE WHEN x.escalation THEN 'deadline_escalation'
                    WHEN r.threshold = {OVERDUE} THEN 'deadline_overdue'
                    ELSE 'deadline_reminder' END,
               CASE WHEN x.escalation THEN
                        'Escalated: ' || c.number || ': ' || {title} || ' is overdue'
                    ELSE c.number || ': ' || {title} ||
                         CASE WHEN r.threshold = {OVERDUE} THEN ' is overdue'
                              WHEN d.due_date = %(today)s THEN ' is due today'
                              WHEN d.due_date - %(today)s = 1 THEN ' is due tomorrow'
                              ELSE ' is due in ' || (d.due_date - %(today)s) || ' days' END
               END,
               CASE WHEN x.escalation THEN
                        'Owner: ' || COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''),
                                              u.username, 'nobody') ||
                        '. It was due ' || to_char(d.due_date, 'YYYY-MM-DD') || '.'
                    WHEN r.threshold = {OVERDUE} THEN
                        'It was due ' || to_char(d.due_date, 'YYYY-MM-DD') || '.' ||
                        CASE WHEN r.escalated_to_id IS NOT NULL
                             THEN ' It has been escalated to your supervisor.' ELSE '' END
                    ELSE 'Due ' || to_char(d.due_date, 'YYYY-MM-DD') || '.'
               END,
               '/cases/' || c.id || '/tasks/',
               'reminder:' || r.id || CASE WHEN x.escalation THEN ':escalation' ELSE '' END,
               %(now)s
          FROM {NEW_TABLE} r
          JOIN cases_deadline d ON d.id = r.deadline_id
          JOIN cases_case c ON c.id = d.case_id
          LEFT JOIN core_user u ON u.id = r.user_id
         CROSS JOIN (VALUES (false), (true)) AS x (escalation)
         WHERE CASE WHEN x.escalation THEN r.escalated_to_id IS NOT NULL
                    ELSE r.user_id IS NOT NULL END
        ON CONFLICT (key) DO NOTHING
    """  # noqa: S608 — constants only; values are parameters
    return sql, {"today": today, "now": now}


def scan_setup_sql() -> list[str]:
    """Statements that open the scan's transaction (also run bare by the bench)."""
    return [
        # Hash joins over a first day's backlog (10^5–10^6 rows) stay in memory; LOCAL ends
        # with the transaction.
        "SET LOCAL work_mem = '64MB'",
        f"CREATE TEMPORARY TABLE {NEW_TABLE} (id bigint, deadline_id bigint, threshold smallint,"
        " user_id bigint, escalated_to_id bigint) ON COMMIT DROP",
    ]


def _insert_reminders_sql(*, today: date, now, bands: tuple[int, ...]) -> dict[int, int]:
    sql, params = reminder_insert_sql(today=today, now=now, bands=bands)
    with connection.cursor() as cursor:
        # Dropped explicitly at the end too: inside an outer transaction (tests, a caller's
        # atomic block) ON COMMIT would come too late for a second scan.
        cursor.execute(f"DROP TABLE IF EXISTS {NEW_TABLE}")
        for statement in scan_setup_sql():
            cursor.execute(statement)
        cursor.execute(sql, params)
        cursor.execute(f"ANALYZE {NEW_TABLE}")  # temporary tables get no autovacuum statistics
        cursor.execute(f"SELECT threshold, count(*) FROM {NEW_TABLE} GROUP BY threshold")  # noqa: S608
        return dict(cursor.fetchall())


def _notify_new_reminders_sql(*, today: date, now) -> int:
    sql, params = notification_insert_sql(today=today, now=now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = cursor.rowcount
        cursor.execute(f"DROP TABLE {NEW_TABLE}")
    return created


# Portable path (SQLite, `make run`'s default): the same decisions through the ORM.


def _insert_reminders_orm(*, today: date, now, bands: tuple[int, ...]) -> list[Reminder]:
    threshold = models.Case(
        When(due_date__lt=today, then=Value(OVERDUE)),
        *(When(due_date__lte=today + timedelta(days=t), then=Value(t)) for t in sorted(bands)),
        output_field=models.IntegerField(),
    )
    already = Reminder.objects.filter(deadline_id=OuterRef("pk"), threshold=OuterRef("band"))
    rows = (
        Deadline.objects.filter(
            done_at__isnull=True, due_date__lte=today + timedelta(days=bands[0])
        )
        .exclude(case__status=Case.Status.CLOSED)
        .annotate(band=threshold)
        .filter(~Exists(already))
        .values(
            "pk",
            "band",
            "owner_id",
            "owner__is_active",
            "owner__team__supervisor_id",
            "case__assigned_to_id",
            "case__assigned_to__is_active",
            "case__assigned_to__team__supervisor_id",
            "case__team__supervisor_id",
        )
    )
    candidates = []
    for row in rows.iterator():
        if row["owner_id"] and row["owner__is_active"]:
            user_id, user_team_supervisor = row["owner_id"], row["owner__team__supervisor_id"]
        elif row["case__assigned_to_id"] and row["case__assigned_to__is_active"]:
            user_id = row["case__assigned_to_id"]
            user_team_supervisor = row["case__assigned_to__team__supervisor_id"]
        else:
            user_id = user_team_supervisor = None
        escalated_to = None
        if row["band"] == OVERDUE:
            options = (user_team_supervisor, row["case__team__supervisor_id"])
            escalated_to = next((s for s in options if s and s != user_id), None)
        candidates.append(
            Reminder(
                deadline_id=row["pk"],
                threshold=row["band"],
                user_id=user_id,
                escalated_to_id=escalated_to,
                created_at=now,
            )
        )
    Reminder.objects.bulk_create(candidates, ignore_conflicts=True, batch_size=500)
    # The rows this run created are the candidates stamped with this run's instant; a row that
    # lost a race to another run carries that run's stamp.
    wanted = {(r.deadline_id, r.threshold) for r in candidates}
    created = Reminder.objects.filter(created_at=now).select_related(
        "deadline__case", "user", "escalated_to"
    )
    return [r for r in created if (r.deadline_id, r.threshold) in wanted]


def _notify_new_reminders_orm(new: list[Reminder], *, today: date, now) -> int:
    notifications = []
    for reminder in new:
        deadline = reminder.deadline
        number = deadline.case.number
        if reminder.user_id:
            kind, title, body = reminder_texts(
                number=number,
                title=deadline.title,
                due=deadline.due_date,
                today=today,
                threshold=reminder.threshold,
                escalated=reminder.escalated_to_id is not None,
            )
            notifications.append(
                Notification(
                    user_id=reminder.user_id,
                    kind=kind,
                    title=title,
                    body=body,
                    link=_link(deadline.case_id),
                    key=f"reminder:{reminder.pk}",
                    created_at=now,
                )
            )
        if reminder.escalated_to_id:
            kind, title, body = escalation_texts(
                number=number,
                title=deadline.title,
                due=deadline.due_date,
                owner=_person(reminder.user),
            )
            notifications.append(
                Notification(
                    user_id=reminder.escalated_to_id,
                    kind=kind,
                    title=title,
                    body=body,
                    link=_link(deadline.case_id),
                    key=f"reminder:{reminder.pk}:escalation",
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=500)
    return len(notifications)


# ---------------------------------------------------------------------------------------------
# E-mail digest
# ---------------------------------------------------------------------------------------------

DIGEST_MAX_LINES = 100
CLAIM_CHUNK = 10_000


class DigestDeliveryFailed(Exception):
    """Some digests could not be sent; their reminders were released for the next run."""


@dataclass(frozen=True, slots=True)
class _Item:
    """One claimed reminder as a digest lists it (plain values: the first digest after a
    backlog may list a hundred thousand)."""

    pk: int
    threshold: int
    user_id: int | None
    escalated_to_id: int | None
    deadline_id: int
    title: str
    due: date
    case_id: int
    number: str
    owner: str


_ITEM_FIELDS = (
    "pk",
    "threshold",
    "user_id",
    "escalated_to_id",
    "deadline_id",
    "deadline__title",
    "deadline__due_date",
    "deadline__case_id",
    "deadline__case__number",
    "user__first_name",
    "user__last_name",
    "user__username",
)


def _claim_unsent(now) -> list[int]:
    """Mark every reminder not yet e-mailed as e-mailed now; returns the ids this call claimed.

    The `emailed_at IS NULL` condition is re-checked on each row under its lock, so a reminder
    claimed by another worker meanwhile is not returned here (PostgreSQL and SQLite ≥ 3.35).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_reminder SET emailed_at = %s WHERE emailed_at IS NULL RETURNING id",
            [connection.ops.adapt_datetimefield_value(now)],
        )
        return [row[0] for row in cursor.fetchall()]


def _claimed_items(claimed: list[int]):
    """The claimed reminders of deadlines still open (a done one needs no e-mail)."""
    for start in range(0, len(claimed), CLAIM_CHUNK):
        rows = Reminder.objects.filter(
            pk__in=claimed[start : start + CLAIM_CHUNK], deadline__done_at__isnull=True
        ).values_list(*_ITEM_FIELDS)
        for *head, first, last, username in rows:
            owner = f"{first} {last}".strip() or username or "nobody"
            yield _Item(*head, owner=owner)


def _site_url() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def _digest_line(item: _Item, escalated: bool, today: date, site: str) -> str:
    if item.threshold == OVERDUE:
        when = f"was due {item.due.isoformat()}"
    else:
        when = f"due {item.due.isoformat()} ({_when((item.due - today).days)})"
    owner = f" — owner: {item.owner}" if escalated else ""
    return f"  {item.number}  {item.title}, {when}{owner}\n      {site}{_link(item.case_id)}"


def _digest(user: User, entries: list[tuple[_Item, bool]], today: date) -> EmailMessage:
    """Plain text; case numbers, deadline titles and links only — never a member's name."""
    site = _site_url()
    entries.sort(key=lambda entry: (entry[0].due, entry[0].deadline_id))
    sections = [
        ("Escalated to you (overdue on your team)", [e for e in entries if e[1]]),
        ("Overdue", [e for e in entries if not e[1] and e[0].threshold == OVERDUE]),
        ("Due soon", [e for e in entries if not e[1] and e[0].threshold != OVERDUE]),
    ]
    lines = [f"Hello {user.first_name or user.username},", ""]
    shown = 0
    for heading, items in sections:
        if not items or shown == DIGEST_MAX_LINES:
            continue
        lines += [f"{heading}:", ""]
        for item, escalated in items[: DIGEST_MAX_LINES - shown]:
            lines.append(_digest_line(item, escalated, today, site))
            shown += 1
        lines.append("")
    if shown < len(entries):
        lines += [f"…and {len(entries) - shown} more: see the app.", ""]
    lines += [f"All your notifications: {site}/notifications/", "", "— Recovery"]
    count = len(entries)
    subject = f"Recovery: {count} deadline reminder{'s' if count != 1 else ''}"
    return EmailMessage(subject=subject, body="\n".join(lines), to=[user.email])


def send_digests(*, now=None) -> int:
    """One e-mail per user listing their reminders not yet e-mailed (own ones, and overdue ones
    escalated to them); returns the number of e-mails sent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    claimed = _claim_unsent(now)
    if not claimed:
        return 0
    by_user: dict[int, list[tuple[_Item, bool]]] = defaultdict(list)
    for item in _claimed_items(claimed):
        if item.user_id:
            by_user[item.user_id].append((item, False))
        if item.escalated_to_id and item.escalated_to_id != item.user_id:
            by_user[item.escalated_to_id].append((item, True))
    recipients = User.objects.in_bulk(list(by_user))
    sent = 0
    delivered: set[int] = set()
    failed: set[int] = set()
    try:
        with get_connection() as mail:
            for user_id, entries in by_user.items():
                user = recipients.get(user_id)
                ids = {item.pk for item, _ in entries}
                if user is None or not user.is_active or not user.email:
                    continue  # nobody to write to; the in-app notification stays
                try:
                    message = _digest(user, entries, today)
                    message.connection = mail
                    message.send()
                except Exception:
                    logger.exception("Reminder digest to user %s failed", user_id)
                    failed |= ids
                else:
                    sent += 1
                    delivered |= ids
    except Exception:
        # The mail server could not be reached: nothing was sent from here on.
        failed |= set(claimed) - delivered
        logger.exception("Reminder digests: mail connection failed")
    retry = failed - delivered
    if retry:
        retry_ids = sorted(retry)
        for start in range(0, len(retry_ids), CLAIM_CHUNK):
            Reminder.objects.filter(
                pk__in=retry_ids[start : start + CLAIM_CHUNK], emailed_at=now
            ).update(emailed_at=None)
        raise DigestDeliveryFailed(
            f"{sent} digests sent; {len(retry)} reminders released for the next run."
        )
    return sent


# ---------------------------------------------------------------------------------------------
# Leads: questionnaire letters and their replies
# ---------------------------------------------------------------------------------------------


def _letters_requester(requested_by: User | None) -> User | None:
    """Who signs for the monthly questionnaires: the caller, else the user named by
    `settings.LEAD_LETTERS_REQUESTED_BY`, else the first active administrator."""
    if requested_by is not None:
        return requested_by
    writers = User.objects.filter(
        is_active=True, role__in=[Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN]
    )
    username = getattr(settings, "LEAD_LETTERS_REQUESTED_BY", "")
    if username:
        return writers.filter(username=username).first()
    return writers.filter(role=Role.ADMIN).order_by("pk").first()


def queue_lead_letters(*, today: date | None = None, requested_by: User | None = None) -> int:
    """Request an accident questionnaire for every new lead (monthly); returns how many.

    Each lead is claimed under a row lock (SKIP LOCKED) and moved to `letter_sent` in the same
    transaction as the letter request, so two runs never write to the same member twice. While
    the letters module is missing, or nobody may sign the letters, nothing changes and 0 is
    returned. A lead whose letter is refused (bad address data...) is logged and stays new.
    """
    try:
        from liens.letters import request_letter
    except ImportError:
        logger.warning("liens.letters is not available: no questionnaire letters queued")
        return 0
    requester = _letters_requester(requested_by)
    if requester is None:
        logger.warning("No active user may request the questionnaire letters: none queued")
        return 0
    today = today or timezone.localdate()
    ids = list(
        Lead.objects.filter(status=Lead.Status.NEW, created_at__date__lte=today)
        .order_by("-hit_paid", "pk")
        .values_list("pk", flat=True)
    )
    queued = 0
    for lead_id in ids:
        try:
            with transaction.atomic():
                lead = (
                    Lead.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("member")
                    .filter(pk=lead_id, status=Lead.Status.NEW)
                    .first()
                )
                if lead is None:  # taken by another run, or no longer new
                    continue
                request_letter(
                    case=None,
                    kind="member_questionnaire",
                    recipient=None,
                    requested_by=requester,
                    member=lead.member,
                    today=today,
                )
                lead.status = Lead.Status.LETTER_SENT
                lead.updated_at = timezone.now()
                lead._change_reason = "Accident questionnaire requested"
                lead.save(update_fields=["status", "updated_at"])
        except ValidationError as error:
            logger.warning("Questionnaire for lead %s refused: %s", lead_id, error)
            continue
        queued += 1
    return queued


def _reply_summary(
    *, has_attorney: bool, attorney_name: str, insurer_name: str, accident_date, description: str
) -> str:
    lines = [
        f"Represented by an attorney: {'yes' if has_attorney else 'no'}",
        f"Attorney: {attorney_name or '—'}",
        f"Insurer: {insurer_name or '—'}",
        f"Accident date: {accident_date.isoformat() if accident_date else '—'}",
    ]
    if description:
        lines += ["", description]
    return "\n".join(lines)


@transaction.atomic
def capture_questionnaire_reply(
    *,
    lead: Lead,
    received_by: User,
    has_attorney: bool,
    attorney_name: str = "",
    insurer_name: str = "",
    accident_date: date | None = None,
    description: str = "",
    incident_kind: str = IncidentKind.OTHER,
    jurisdiction: Jurisdiction | None = None,
    acknowledge_duplicates: bool = False,
) -> Case | None:
    """Record a member's returned questionnaire.

    A third party involved (an attorney, or an insurer named) opens a case from the lead (source
    questionnaire, in the member's state unless `jurisdiction` is given) with the reply logged
    as an inbound letter on it. Otherwise the lead is dismissed with the reason. Returns the
    case, or None when dismissed.
    """
    if received_by.role not in (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Your role does not allow changes.")
    lead = Lead.objects.select_for_update().select_related("member").get(pk=lead.pk)
    if lead.status not in (Lead.Status.NEW, Lead.Status.LETTER_SENT):
        raise Conflict(f"This lead is already {lead.get_status_display().lower()}.")
    attorney_name, insurer_name = attorney_name.strip(), insurer_name.strip()
    description = description.strip()[:4000]
    summary = _reply_summary(
        has_attorney=has_attorney,
        attorney_name=attorney_name,
        insurer_name=insurer_name,
        accident_date=accident_date,
        description=description,
    )
    if not (has_attorney or attorney_name or insurer_name):
        lead.status = Lead.Status.DISMISSED
        lead.reason = f"Questionnaire returned: no third party involved. {summary}"[:300]
        lead.updated_at = timezone.now()
        lead._change_reason = "Questionnaire reply: no third party"
        lead.save(update_fields=["status", "reason", "updated_at"])
        return None
    if accident_date is None:
        raise ValidationError(
            {"accident_date": "A third party is involved: enter the accident date."}
        )
    jurisdiction = jurisdiction or _member_jurisdiction(lead.member)
    case = services.open_case(
        created_by=received_by,
        member=lead.member,
        incident_date=accident_date,
        incident_kind=incident_kind,
        jurisdiction=jurisdiction,
        source=Case.Source.QUESTIONNAIRE,
        incident_description=description,
        acknowledge_duplicates=acknowledge_duplicates,
    )
    services.log_activity(
        case=case,
        logged_by=received_by,
        kind=Activity.Kind.LETTER,
        direction=Activity.Direction.INBOUND,
        subject="Accident questionnaire returned",
        body=summary,
    )
    # open_case converted the lead with a bulk update; saving it again leaves a history row.
    lead.status = Lead.Status.CONVERTED
    lead.case = case
    lead.updated_at = timezone.now()
    lead._change_reason = "Questionnaire reply: case opened"
    lead.save(update_fields=["status", "case", "updated_at"])
    return case


def _member_jurisdiction(member: Member) -> Jurisdiction:
    jurisdiction = Jurisdiction.objects.filter(code=member.state).first() if member.state else None
    if jurisdiction is None:
        raise ValidationError({"jurisdiction": "Choose the state the case belongs to."})
    return jurisdiction
