"""Money screens: a case's Money tab (deposits, disbursement requests and their decisions,
postings and reversals), the holding account, bank reconciliation and the ledger reports.

Views stay thin: a form parses, a service in `ledger.services` (or `ledger.reconciliation`)
decides and writes — the same services the API calls — and the view renders. Cases and money are
found through the selectors, so what the user may not see is a 404. Pages that show a member's
data (the case header, refunds paid to a member) write the PHI access log.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.forms import add_service_errors
from cases.models import Case
from cases.selectors import can_edit_case, case_get
from cases.views import _header_context
from recovery.core.audit import log_phi_access
from recovery.core.exceptions import Conflict
from recovery.core.models import STAFF_ROLES, PhiAccess, Role
from recovery.core.permissions import role_required
from recovery.money import ZERO

from . import reconciliation, reports, selectors, services
from .forms import (
    DateRangeForm,
    DecisionForm,
    DepositForm,
    DisbursementForm,
    RegisterFilterForm,
    ReverseForm,
    StatementForm,
)
from .models import BankLine, BankStatement, Disbursement

try:  # the letters module may not be there yet; the receipt is an optional extra
    from liens.letters import request_letter
except ImportError:  # pragma: no cover
    request_letter = None

WRITERS = (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)
APPROVERS = (Role.SUPERVISOR, Role.ADMIN)
BOOKS = (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
staff_required = role_required(*STAFF_ROLES)
writer_required = role_required(*WRITERS)
approver_required = role_required(*APPROVERS)
books_required = role_required(*BOOKS)

PAGE_SIZE = 50


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _money_url(case_or_pk) -> str:
    return reverse("ledger:case", args=[getattr(case_or_pk, "pk", case_or_pk)])


def _usd(amount: Decimal) -> str:
    return f"${amount:,}"


def _log_member_refunds(request, disbursements) -> None:
    """A refund to a member names the member as payee: reading it is reading PHI."""
    members = [
        d.case.member_id
        for d in disbursements
        if d.purpose == Disbursement.Purpose.MEMBER_REFUND and d.case.member_id
    ]
    if members:
        log_phi_access(
            user=request.user,
            subject_type="member",
            subject_ids=members,
            request=request,
            detail="member refunds",
        )


def _with_actions(user, disbursements):
    for d in disbursements:
        pending = d.status == Disbursement.Status.REQUESTED
        d.can_decide = pending and user.role in APPROVERS and d.requested_by_id != user.pk
        d.can_cancel = pending and (d.requested_by_id == user.pk or user.role in APPROVERS)
    return disbursements


# ---------------------------------------------------------------------------------------------
# The case's Money tab
# ---------------------------------------------------------------------------------------------


def _can_post(user, case: Case) -> bool:
    return user.role in WRITERS and can_edit_case(user, case)


def _money_page(
    request,
    case: Case,
    *,
    deposit_form: DepositForm | None = None,
    disbursement_form: DisbursementForm | None = None,
    open_form: str = "",
    status: int = 200,
):
    user = request.user
    context = _header_context(request, case)
    money = selectors.case_money(case)
    can_post = _can_post(user, case)
    receipts = request_letter is not None
    if can_post:
        deposit_form = deposit_form or DepositForm(case=case, receipts=receipts)
        disbursement_form = disbursement_form or DisbursementForm(
            initial={"purpose": Disbursement.Purpose.PROGRAM_RECOVERY},
            preview_url=reverse("ledger:split-preview", args=[case.pk]),
        )
    context.update(
        {
            "tab": "money",
            "money": money,
            "disbursements": _with_actions(user, money.disbursements),
            "can_post": can_post,
            "can_reverse": user.role in APPROVERS,
            "deposit_form": deposit_form if can_post else None,
            "disbursement_form": disbursement_form if can_post else None,
            "open_form": open_form,
            "reverse_form": ReverseForm(),
        }
    )
    log_phi_access(
        user=user,
        subject_type="member",
        subject_ids=[case.member_id],
        case_id=case.pk,
        request=request,
    )
    return render(request, "ledger/case_money.html", context, status=status)


@staff_required
@require_GET
def case_money(request, pk: int):
    return _money_page(request, case_get(user=request.user, id=pk))


def _editable(request, pk: int) -> Case:
    case = case_get(user=request.user, id=pk)
    if not _can_post(request.user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor moves money here.")
    return case


def _send_receipt(request, case: Case, deposit, party) -> None:
    body = (
        f"Amount received: {_usd(deposit.amount)} on {deposit.received_on:%B %-d, %Y}, "
        f"{deposit.get_instrument_display()} {deposit.reference}, from {deposit.payer}."
    )
    try:
        document = request_letter(
            case=case,
            kind="payment_receipt",
            recipient=party,
            requested_by=request.user,
            body=body,
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.warning(request, f"The receipt letter was not made: {' '.join(exc.messages)}")
    else:
        messages.info(request, f"{document.title}: being generated.")


@writer_required
@require_POST
def record_deposit(request, pk: int):
    case = _editable(request, pk)
    form = DepositForm(request.POST, case=case, receipts=request_letter is not None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            deposit, created = services.post_deposit(
                case=case,
                amount=data["amount"],
                received_on=data["received_on"],
                payer=data["payer"],
                instrument=data["instrument"],
                reference=data["reference"],
                idempotency_key=data["idempotency_key"],
                settlement=data["settlement"],
                recorded_by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            if created:
                messages.success(
                    request, f"Deposit of {_usd(deposit.amount)} ({deposit.reference}) posted."
                )
                party = form.receipt_party() if "receipt_to" in form.fields else None
                if party is not None:
                    _send_receipt(request, case, deposit, party)
            else:
                messages.info(
                    request,
                    "This deposit was already recorded (the form was sent twice): nothing new was posted.",
                )
            return redirect(_money_url(case))
    return _money_page(request, case, deposit_form=form, open_form="deposit", status=400)


@writer_required
@require_POST
def request_payment(request, pk: int):
    case = _editable(request, pk)
    form = DisbursementForm(
        request.POST, preview_url=reverse("ledger:split-preview", args=[case.pk])
    )
    status = 400
    if form.is_valid():
        try:
            disbursement = services.request_disbursement(
                case=case, requested_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(
                request,
                f"Disbursement of {_usd(disbursement.amount)} requested; it posts when a supervisor approves it.",
            )
            return redirect(_money_url(case))
    return _money_page(
        request, case, disbursement_form=form, open_form="disbursement", status=status
    )


@staff_required
@require_GET
def split_preview(request, pk: int):
    """htmx: the state/federal split a program recovery of the typed amount would post."""
    case = case_get(user=request.user, id=pk)
    purpose = request.GET.get("purpose", "")
    preview = None
    if purpose == Disbursement.Purpose.PROGRAM_RECOVERY:
        preview = selectors.preview_split(case, (request.GET.get("amount") or "").strip() or "0")
    return render(request, "ledger/_split_preview.html", {"preview": preview, "purpose": purpose})


# ---------------------------------------------------------------------------------------------
# Decisions and corrections (inline on the case tab and the holding page)
# ---------------------------------------------------------------------------------------------


def _decision_answer(request, disbursement, *, message: str, level: str):
    """htmx swaps the row in place, message included (always a 200: htmx does not swap an
    error answer); a plain form post goes back where it came from with a message."""
    if _is_partial(request):
        row = request.POST.get("row", "")
        row = row if row in ("pending", "register") else ""
        fresh = selectors.disbursement_get(user=request.user, id=disbursement.pk)
        _with_actions(request.user, [fresh])
        return render(
            request,
            "ledger/_disbursement_row.html",
            {
                "d": fresh,
                "row_message": message,
                "row_level": level,
                "row": row,
                "show_case": row in ("pending", "register"),
                "next": _safe_next(request, ""),
            },
        )
    getattr(messages, level)(request, message)
    return redirect(_safe_next(request, _money_url(disbursement.case_id)))


@approver_required
@require_POST
def approve(request, id: int):
    disbursement = selectors.disbursement_get(user=request.user, id=id)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        posted = services.approve_disbursement(
            disbursement=disbursement, approved_by=request.user, note=note
        )
    except Conflict as exc:
        return _decision_answer(
            request, disbursement, message=f"Not approved: {exc.message}", level="error"
        )
    except ValidationError as exc:
        return _decision_answer(
            request, disbursement, message=f"Not approved: {' '.join(exc.messages)}", level="error"
        )
    return _decision_answer(
        request,
        posted,
        message=f"Approved and posted: {_usd(posted.amount)} to {posted.payee}.",
        level="success",
    )


@approver_required
@require_POST
def reject(request, id: int):
    disbursement = selectors.disbursement_get(user=request.user, id=id)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.reject_disbursement(disbursement=disbursement, rejected_by=request.user, note=note)
    except Conflict as exc:
        return _decision_answer(request, disbursement, message=exc.message, level="error")
    except ValidationError as exc:
        return _decision_answer(
            request, disbursement, message=" ".join(exc.messages), level="error"
        )
    return _decision_answer(request, disbursement, message="Rejected.", level="success")


@writer_required
@require_POST
def cancel(request, id: int):
    disbursement = selectors.disbursement_get(user=request.user, id=id)
    try:
        services.cancel_disbursement(disbursement=disbursement, cancelled_by=request.user)
    except Conflict as exc:
        return _decision_answer(request, disbursement, message=exc.message, level="error")
    return _decision_answer(request, disbursement, message="Request cancelled.", level="success")


@approver_required
@require_POST
def reverse_transaction(request, id: int):
    original = selectors.transaction_get(user=request.user, id=id)
    fallback = _money_url(original.case_id) if original.case_id else reverse("ledger:holding")
    form = ReverseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the transaction is reversed.")
        return redirect(_safe_next(request, fallback))
    try:
        reversal = services.reverse_transaction(
            original=original, reversed_by=request.user, reason=form.cleaned_data["reason"]
        )
    except Conflict as exc:
        messages.error(request, f"Not reversed: {exc.message}")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Transaction #{original.pk} reversed by #{reversal.pk}.")
    return redirect(_safe_next(request, fallback))


# ---------------------------------------------------------------------------------------------
# The holding account
# ---------------------------------------------------------------------------------------------


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return default


@books_required
@require_GET
def holding(request):
    user = request.user
    today = timezone.localdate()
    day = _day(request.GET.get("day"), today)
    register_form = RegisterFilterForm(request.GET)
    filters = register_form.values()
    register = selectors.disbursement_register(
        user=user,
        status=filters["status"],
        purpose=filters["purpose"],
        date_from=filters["date_from"],
        date_to=filters["date_to"],
    )
    register_page = Paginator(register, 25).get_page(request.GET.get("page"))
    pending = _with_actions(user, list(selectors.pending_disbursements(user)[:PAGE_SIZE]))
    register_rows = _with_actions(user, list(register_page.object_list))
    batch = list(selectors.deposit_batch(day)[:200])
    totals = selectors.deposit_batch_totals(day)
    _log_member_refunds(request, pending + register_rows)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ledger/holding.html",
        {
            "balances": reports.account_balances(),
            "held": reports.held_totals(),
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1) if day < today else None,
            "recent_days": selectors.recent_batch_days(),
            "batch": batch,
            "batch_totals": totals,
            "batch_count": sum(row["count"] for row in totals),
            "batch_amount": sum((row["total"] for row in totals), ZERO),
            "pending": pending,
            "pending_count": selectors.pending_disbursements(user).count(),
            "register_form": register_form,
            "register_page": register_page,
            "register": register_rows,
            "register_query": query.urlencode(),
            "can_decide": user.role in APPROVERS,
        },
    )


# ---------------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------------


@books_required
@require_http_methods(["GET", "POST"])
def statements(request):
    form = StatementForm()
    status = 200
    if request.method == "POST":
        if request.user.role not in APPROVERS:
            raise PermissionDenied("Only a supervisor imports bank statements.")
        form = StatementForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                reconciliation.check_upload(upload.name, upload.size)
                statement = reconciliation.import_statement(
                    filename=upload.name, content=upload.read(), imported_by=request.user
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                counts = statement.lines.values_list("match", flat=True)
                summary = {kind: 0 for kind in BankLine.Match.values}
                for kind in counts:
                    summary[kind] += 1
                messages.success(
                    request,
                    f"Imported {statement.filename}: {summary['matched']} matched, "
                    f"{summary['variance']} with a variance, {summary['unmatched']} unmatched, "
                    f"{summary['ignored']} withdrawals ignored.",
                )
                return redirect("ledger:statement", id=statement.pk)
        status = 400
    page = Paginator(reconciliation.statements(), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/statements.html",
        {
            "form": form,
            "page": page,
            "statements": list(page.object_list),
            "can_import": request.user.role in APPROVERS,
            "columns": reconciliation.COLUMNS,
        },
        status=status,
    )


@books_required
@require_GET
def statement(request, id: int):
    try:
        statement = reconciliation.statements().get(pk=id)
    except (BankStatement.DoesNotExist, ValueError) as exc:
        raise Http404("No such statement") from exc
    return render(
        request,
        "ledger/statement.html",
        {
            "statement": statement,
            "matched": list(reconciliation.statement_lines(statement, BankLine.Match.MATCHED)),
            "variances": list(reconciliation.statement_lines(statement, BankLine.Match.VARIANCE)),
            "unmatched": list(reconciliation.statement_lines(statement, BankLine.Match.UNMATCHED)),
            "ignored": list(reconciliation.statement_lines(statement, BankLine.Match.IGNORED)),
            "missing": list(reconciliation.deposits_not_on_statement(statement)[:500]),
        },
    )


@books_required
@require_GET
def month_end(request):
    month = reconciliation.parse_month(request.GET.get("month"))
    report = reconciliation.month_end(month)
    if request.GET.get("format") == "csv":
        return reports.csv_response(
            f"month-end-{month:%Y-%m}.csv",
            reconciliation.MONTH_END_HEADER,
            reconciliation.month_end_rows(report),
            amount_columns=["amount"],
        )
    return render(request, "ledger/month_end.html", {"report": report, "month": month})


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


def _wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


@books_required
@require_GET
def reports_index(request):
    return render(request, "ledger/reports.html", {})


@books_required
@require_GET
def trial_balance(request):
    as_of = _day(request.GET.get("as_of"), None) if request.GET.get("as_of") else None
    report = reports.trial_balance(as_of=as_of)
    if _wants_csv(request):
        rows = [
            [r.account.code, r.account.external_code, r.account.name, r.debit, r.credit, r.balance]
            for r in report.rows
        ]
        rows.append(["total", "", "", report.total_debit, report.total_credit, ""])
        return reports.csv_response(
            f"trial-balance-{(as_of or timezone.localdate()):%Y-%m-%d}.csv",
            ["account", "external_code", "name", "debit", "credit", "balance"],
            rows,
            amount_columns=["debit", "credit", "balance"],
        )
    return render(request, "ledger/report_trial_balance.html", {"report": report, "as_of": as_of})


@books_required
@require_GET
def held_balances(request):
    balances = reports.held_balances()
    if _wants_csv(request):
        top = (
            int(request.GET.get("top") or 1000)
            if (request.GET.get("top") or "").isdigit()
            else 1000
        )
        return reports.csv_response(
            "held-balances.csv",
            ["case_number", "held", "received", "disbursed", "updated_at"],
            (
                [b.case.number, b.held, b.received, b.disbursed, b.updated_at.isoformat()]
                for b in balances[: min(top, 100_000)].iterator(chunk_size=2000)
            ),
            amount_columns=["held", "received", "disbursed"],
        )
    page = Paginator(balances, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    from_entries = reports.ledger_held(row.case_id for row in rows)
    for row in rows:
        row.ledger_held = from_entries.get(row.case_id, ZERO)
        row.agrees = row.ledger_held == row.held
    return render(
        request,
        "ledger/report_held.html",
        {"page": page, "rows": rows, "totals": reports.held_totals()},
    )


REGISTER_HEADER = [
    "id",
    "requested_at",
    "case_number",
    "purpose",
    "payee",
    "amount",
    "status",
    "requested_by",
    "decided_by",
    "decided_at",
    "state_share",
    "federal_share",
    "note",
    "decision_note",
]


def _register_rows(disbursements):
    for d in disbursements:
        yield [
            d.pk,
            timezone.localtime(d.requested_at).strftime("%Y-%m-%d %H:%M"),
            d.case.number,
            d.purpose,
            d.payee,
            d.amount,
            d.status,
            d.requested_by.username,
            d.decided_by.username if d.decided_by else "",
            timezone.localtime(d.decided_at).strftime("%Y-%m-%d %H:%M") if d.decided_at else "",
            d.state_share,
            d.federal_share,
            d.note,
            d.decision_note,
        ]


@books_required
@require_GET
def register(request):
    form = RegisterFilterForm(request.GET)
    filters = form.values()
    disbursements = selectors.disbursement_register(
        user=request.user,
        status=filters["status"],
        purpose=filters["purpose"],
        date_from=filters["date_from"],
        date_to=filters["date_to"],
    )
    if _wants_csv(request):
        refunds = disbursements.filter(purpose=Disbursement.Purpose.MEMBER_REFUND)
        members = list(refunds.values_list("case__member_id", flat=True).distinct()[:10_000])
        if members:
            log_phi_access(
                user=request.user,
                subject_type="member",
                subject_ids=members,
                action=PhiAccess.Action.EXPORT,
                request=request,
                detail="disbursement register CSV",
            )
        return reports.csv_response(
            "disbursement-register.csv",
            REGISTER_HEADER,
            _register_rows(disbursements.iterator(chunk_size=2000)),
            amount_columns=["amount", "state_share", "federal_share"],
        )
    page = Paginator(disbursements, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    _log_member_refunds(request, rows)
    totals = disbursements.order_by().aggregate(
        count=Count("id"),
        requested=Sum("amount", default=ZERO),
        approved=Sum("amount", filter=Q(status=Disbursement.Status.APPROVED), default=ZERO),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ledger/report_register.html",
        {"form": form, "page": page, "rows": rows, "totals": totals, "query": query.urlencode()},
    )


FEDERAL_HEADER = [
    "quarter",
    "period_start",
    "period_end",
    "disbursements",
    "collections",
    "federal_share",
    "state_share",
    "reversed_collections",
    "reversed_federal_share",
    "reversed_state_share",
]


@books_required
@require_GET
def federal_share(request):
    form = DateRangeForm(request.GET or None)
    start = end = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    quarters = reports.federal_share_by_quarter(date_from=start, date_to=end)
    if _wants_csv(request):
        return reports.csv_response(
            "cms-64-9a-line-9.csv",
            FEDERAL_HEADER,
            (
                [
                    q.label,
                    q.period[0],
                    q.period[1],
                    q.count,
                    q.total,
                    q.federal,
                    q.state,
                    q.reversed_total,
                    q.reversed_federal,
                    q.reversed_state,
                ]
                for q in quarters
            ),
            amount_columns=FEDERAL_HEADER[4:],
        )
    return render(
        request,
        "ledger/report_federal.html",
        {
            "form": form,
            "quarters": quarters,
            "total": sum((q.total for q in quarters), ZERO),
            "federal": sum((q.federal for q in quarters), ZERO),
            "state": sum((q.state for q in quarters), ZERO),
            "reversed": sum((q.reversed_total for q in quarters), ZERO),
            "reversed_federal": sum((q.reversed_federal for q in quarters), ZERO),
        },
    )


@books_required
@require_GET
def aging(request):
    today = timezone.localdate()
    aged = reports.settlement_aging(today)
    bucket = request.GET.get("bucket", "")
    summary = reports.aging_summary(aged)
    if bucket in dict(reports.BUCKETS):
        aged = aged.filter(bucket=bucket)
    if _wants_csv(request):
        return reports.csv_response(
            f"settlement-aging-{today:%Y-%m-%d}.csv",
            [
                "case_number",
                "accepted_on",
                "days",
                "bucket",
                "agreed_recovery",
                "received",
                "outstanding",
            ],
            (
                [
                    s.case.number,
                    timezone.localtime(s.accepted_at).date(),
                    (today - timezone.localtime(s.accepted_at).date()).days,
                    s.bucket,
                    s.agreed_recovery,
                    s.received,
                    s.outstanding,
                ]
                for s in aged.iterator(chunk_size=2000)
            ),
            amount_columns=["agreed_recovery", "received", "outstanding"],
        )
    page = Paginator(aged, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for s in rows:
        s.days = (today - timezone.localtime(s.accepted_at).date()).days
    return render(
        request,
        "ledger/report_aging.html",
        {"summary": summary, "page": page, "rows": rows, "bucket": bucket, "today": today},
    )


@books_required
@require_GET
def gl_export(request):
    today = timezone.localdate()
    form = DateRangeForm(
        request.GET if "date_from" in request.GET else None,
        initial={"date_from": today.replace(day=1), "date_to": today},
    )
    summary = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        if _wants_csv(request):
            return reports.csv_response(
                f"general-ledger-{start:%Y%m%d}-{end:%Y%m%d}.csv",
                reports.GL_HEADER,
                reports.gl_rows(start, end),
                amount_columns=["debit", "credit"],
            )
        summary = reports.gl_summary(start, end)
    return render(request, "ledger/report_gl.html", {"form": form, "summary": summary})
