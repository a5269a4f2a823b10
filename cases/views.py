"""The specialist's workbench: case list, intake, the case page with its tabs, queues.

Views stay thin: a form parses the input, a service decides and writes, the view renders. Every
case is found through `case_get`/`cases_visible_to`, so a case the user may not see is a 404, and
every page that shows a member's PHI writes one access-log row set.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from math import ceil

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Sum
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recovery.core.audit import log_phi_access
from recovery.core.exceptions import Conflict
from recovery.core.models import PhiAccess, Role, Team, User
from recovery.core.permissions import role_required, staff_required

from . import selectors, services
from .forms import (
    ActivityForm,
    AddPartyForm,
    AnswerForm,
    AskForm,
    AssignForm,
    CaseFilterForm,
    DeadlineForm,
    DecideClaimForm,
    IntakeForm,
    ReassignForm,
    ReturnForm,
    StatusForm,
    UploadForm,
    add_service_errors,
    staff_users,
)
from .models import (
    Activity,
    Case,
    CaseClaim,
    CaseParty,
    Deadline,
    Document,
    Jurisdiction,
    Member,
    Party,
    SupervisorQuestion,
)
from .screening import describe_icd10

WRITERS = (Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN)
SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)
# Auditors read everything; anything that writes refuses them (and attorneys) with a 403.
writer_required = role_required(*WRITERS)

PAGE_SIZE = 50
# The case list counts its matches up to this many (CappedPaginator).
LIST_COUNT_CAP = 1_000

# (key, label, URL name): tabs of other apps join the case page here; a tab whose URL does not
# exist is left out.
TABS = [
    ("detail", "Summary", "cases:detail"),
    ("parties", "Parties", "cases:parties"),
    ("claims", "Claims", "cases:claims"),
    ("lien", "Lien", "liens:case-lien"),
    ("letters", "Letters", "liens:case-letters"),
    ("settlement", "Settlement", "settlements:case"),
    ("money", "Money", "ledger:case"),
    ("activity", "Activity", "cases:activity"),
    ("tasks", "Tasks", "cases:tasks"),
    ("documents", "Documents", "cases:documents"),
    ("history", "History", "cases:history"),
]


def case_tabs(case_pk: int) -> list[tuple[str, str, str]]:
    tabs = []
    for key, label, url_name in TABS:
        try:
            tabs.append((key, label, reverse(url_name, args=[case_pk])))
        except NoReverseMatch:
            continue
    return tabs


def _log_members(request, member_ids, *, case_id=None, action=PhiAccess.Action.VIEW, detail=""):
    log_phi_access(
        user=request.user,
        subject_type="member",
        subject_ids=member_ids,
        action=action,
        case_id=case_id,
        request=request,
        detail=detail,
    )


def _sol_state(case: Case, today: date) -> str:
    """'bad' once the statute of limitations has run, 'warn' within 90 days of it."""
    if not case.sol_date or case.status == Case.Status.CLOSED:
        return ""
    if case.sol_date < today:
        return "bad"
    return "warn" if (case.sol_date - today).days <= 90 else ""


def _is_partial(request) -> bool:
    """An htmx swap of part of the page (not a history restore, which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _tab_url(case_or_pk, tab: str = "detail") -> str:
    pk = getattr(case_or_pk, "pk", case_or_pk)
    return reverse(f"cases:{tab}", args=[pk])


# ---------------------------------------------------------------------------------------------
# Case list
# ---------------------------------------------------------------------------------------------

LIST_COLUMNS = [
    ("number", "Case"),
    ("member", "Member"),
    ("incident", "Injury date"),
    ("status", "Status"),
    (None, "Specialist"),
    (None, "State"),
    ("lien", "Lien"),
    ("sol", "SOL date"),
    ("opened", "Opened"),
]


def _columns(current: str) -> list[dict]:
    columns = []
    for key, label in LIST_COLUMNS:
        column = {"key": key, "label": label, "num": key == "lien", "aria_sort": None}
        if key:
            if current == key:
                column["aria_sort"], column["next"] = "ascending", f"-{key}"
            elif current == f"-{key}":
                column["aria_sort"], column["next"] = "descending", key
            else:
                column["next"] = key
        columns.append(column)
    return columns


# Search terms (a member's name, a program id) never go into a URL, where the browser history,
# proxies and server logs would keep them: the search form posts the term, the session keeps
# it under a short random key, and the URL carries only that key.
SEARCHES_SESSION_KEY = "searches"
SEARCHES_KEPT = 20


def remember_search(request, scope: str, term: str) -> str:
    """Keep `term` in the session; returns the opaque key for the URL ('' for no term)."""
    term = (term or "").strip()
    if not term:
        return ""
    searches = dict(request.session.get(SEARCHES_SESSION_KEY, {}))
    key = next((k for k, entry in searches.items() if entry == [scope, term]), None)
    if key is None:
        key = secrets.token_urlsafe(6)
    searches.pop(key, None)
    searches[key] = [scope, term]
    for stale in list(searches)[:-SEARCHES_KEPT]:
        del searches[stale]
    request.session[SEARCHES_SESSION_KEY] = searches
    return key


def recall_search(request, scope: str, key: str | None) -> str | None:
    """The term kept under `key`: '' for no key, None for a key this session does not hold."""
    if not key:
        return ""
    entry = request.session.get(SEARCHES_SESSION_KEY, {}).get(key)
    return entry[1] if entry and entry[0] == scope else None


def _list_query(values: dict, key: str) -> QueryDict:
    """The list's URL parameters: filters and sort, with the search's key instead of its term."""
    query = QueryDict(mutable=True)
    if key:
        query["s"] = key
    if values["sort"] != "-opened":
        query["sort"] = values["sort"]
    for name in ("status", "specialist", "jurisdiction", "due"):
        if values[name]:
            query[name] = values[name]
    return query


class CappedPaginator(Paginator):
    """Counts at most `cap` + 1 rows. Past the cap the list says "more than N cases" and its
    pages stop at the cap: an exact COUNT(*) over hundreds of thousands of visible cases would
    cost more than the page itself (DESIGN §7), and nobody pages that far instead of filtering.
    """

    def __init__(self, object_list, per_page, *, cap: int = LIST_COUNT_CAP, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        hits = max(1, min(self.count, self.cap) - self.orphans)
        return ceil(hits / self.per_page)

    def page(self, number):
        """A page read in two steps within one query: the ids of the page through the list's
        own filters and order (a narrow subquery on cases, served by the sort indexes), then
        those rows with everything a row shows. Sorting or joining the wide rows of every
        visible case for a page of 50 would cost far more."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset = self.object_list
        ids = queryset.values("pk")[bottom:top]
        rows = queryset.model._default_manager.filter(pk__in=ids)
        rows.query.select_related = queryset.query.select_related
        rows = rows.order_by(*queryset.query.order_by)
        return self._get_page(rows, number, self)


@staff_required
@require_http_methods(["GET", "POST"])
def case_list(request):
    searched = request.method == "POST" or "q" in request.GET
    form = CaseFilterForm(request.POST if request.method == "POST" else request.GET)
    values = form.values()
    search_expired = False
    if searched:
        key = remember_search(request, "cases", values["q"])
        target = f"{reverse('cases:list')}?{_list_query(values, key).urlencode()}".rstrip("?")
        if not _is_partial(request) or request.method == "GET":
            return redirect(target)
    else:
        key = request.GET.get("s", "")
        term = recall_search(request, "cases", key)
        search_expired = term is None
        values["q"] = term or ""
        key = key if term else ""
    list_query = _list_query(values, key)
    if request.GET.get("page") and not searched:
        list_query["page"] = request.GET["page"]
    cases = selectors.case_list(
        user=request.user,
        search=values["q"],
        status=values["status"],
        assigned_to=values["specialist"] or None,
        jurisdiction=values["jurisdiction"],
        due=values["due"],
        sort=values["sort"],
        today=timezone.localdate(),
    )
    page = CappedPaginator(cases, PAGE_SIZE, cap=LIST_COUNT_CAP).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    today = timezone.localdate()
    for case in rows:
        case.sol_state = _sol_state(case, today)
    _log_members(
        request,
        [case.member_id for case in rows],
        action=PhiAccess.Action.SEARCH if values["q"] else PhiAccess.Action.VIEW,
    )
    context = {
        "page": page,
        "rows": rows,
        "filters": values,
        "columns": _columns(values["sort"]),
        "list_query": list_query,
        "search_expired": search_expired,
        "filtered": any(
            values[name] for name in ("q", "status", "specialist", "jurisdiction", "due")
        ),
    }
    if _is_partial(request):
        response = render(request, "cases/_table.html", context)
    else:
        context.update(
            {
                "status_choices": CaseFilterForm.base_fields["status"].choices,
                "due_choices": CaseFilterForm.base_fields["due"].choices,
                "specialists": list(staff_users()),
                "jurisdictions": list(
                    Jurisdiction.objects.filter(is_active=True).only("code", "name")
                ),
            }
        )
        response = render(request, "cases/list.html", context)
    if searched:
        # htmx puts this URL, which holds the search's key and not its term, in the address bar.
        response["HX-Push-Url"] = target
    patch_vary_headers(response, ["HX-Request"])
    return response


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


def _sol_suggestion(form_data) -> tuple[date | None, str]:
    """The jurisdiction rule's date for what the form holds so far, with how it was found."""
    try:
        incident_date = date.fromisoformat(form_data.get("incident_date") or "")
        jurisdiction = Jurisdiction.objects.get(pk=int(form_data.get("jurisdiction") or 0))
    except (ValueError, Jurisdiction.DoesNotExist):
        return None, ""
    kind = form_data.get("incident_kind") or ""
    rule = (
        jurisdiction.sol_rules.filter(incident_kind__in=[kind, ""])
        .order_by("-incident_kind")
        .first()
    )
    suggested = services.suggest_sol_date(
        jurisdiction=jurisdiction, incident_kind=kind, incident_date=incident_date
    )
    if rule:
        basis = f"{jurisdiction.code}: {rule.years} years" + (
            f", {rule.citation}" if rule.citation else ""
        )
    else:
        basis = f"{jurisdiction.code}: general rule, {jurisdiction.default_sol_years} years"
    return suggested, basis


@writer_required
@require_http_methods(["GET", "POST"])
def intake(request):
    user = request.user
    if request.method == "GET" and request.GET.get("suggest_sol"):
        # htmx: refresh the SOL field when the date, kind or state changes. A date the user
        # typed stays; an earlier suggestion is replaced.
        suggested, basis = _sol_suggestion(request.GET)
        current = request.GET.get("sol_date", "")
        previous = request.GET.get("sol_suggested", "")
        value = suggested.isoformat() if suggested and current in ("", previous) else current
        return render(
            request,
            "cases/_sol_field.html",
            {"sol_value": value, "sol_suggested": suggested, "sol_basis": basis, "sol_errors": []},
        )
    if "q" in request.POST or "q" in request.GET:
        # The member search posts its term (a name, program id or SSN); the address keeps
        # only the key under which the session holds it.
        key = remember_search(request, "members", (request.POST or request.GET).get("q", ""))
        return redirect(f"{reverse('cases:new')}?s={key}" if key else reverse("cases:new"))

    member = None
    member_id = request.POST.get("member") or request.GET.get("member")
    if member_id:
        try:
            member = Member.objects.prefetch_related("eligibility").get(pk=int(member_id))
        except (ValueError, Member.DoesNotExist) as exc:
            raise Http404("No such member") from exc

    warnings = None
    if request.method == "POST":
        form = IntakeForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            warnings = services.intake_checks(
                member=data["member"], incident_date=data["incident_date"]
            )
            if warnings.any and not data["confirm"]:
                form.add_error(None, "Check the warnings, then confirm to open the case.")
            else:
                try:
                    case = services.open_case(
                        created_by=user,
                        member=data["member"],
                        incident_date=data["incident_date"],
                        incident_kind=data["incident_kind"],
                        jurisdiction=data["jurisdiction"],
                        source=data["source"],
                        incident_description=data["incident_description"],
                        priority=data["priority"],
                        assigned_to=data.get("assigned_to"),
                        sol_date=data["sol_date"],
                        acknowledge_duplicates=data["confirm"],
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc, {"acknowledge_duplicates": "confirm"})
                else:
                    messages.success(request, f"Case {case.number} opened.")
                    return redirect("cases:claims", pk=case.pk)
        status = 400 if form.errors and not (warnings and warnings.any) else 200
    else:
        initial = {"member": member.pk if member else None}
        if member and member.state:
            initial["jurisdiction"] = Jurisdiction.objects.filter(code=member.state).first()
        form = IntakeForm(initial=initial, user=user)
        status = 200

    results = None
    term = recall_search(request, "members", request.GET.get("s")) or ""
    if term and member is None:
        results = list(selectors.member_search(term))
        _log_members(request, [m.pk for m in results], action=PhiAccess.Action.SEARCH)
    if member is not None:
        _log_members(request, [member.pk])

    source = (
        request.POST
        if request.method == "POST"
        else {
            "incident_date": "",
            "jurisdiction": getattr(form.initial.get("jurisdiction"), "pk", ""),
            "incident_kind": "",
        }
    )
    suggested, basis = _sol_suggestion(source)
    sol_value = request.POST.get("sol_date", "") if request.method == "POST" else ""
    if not sol_value and suggested:
        sol_value = suggested.isoformat()
    context = {
        "form": form,
        "member": member,
        "eligibility": list(member.eligibility.all()) if member else [],
        "results": results,
        "term": term,
        "warnings": warnings,
        "sol_value": sol_value,
        "sol_suggested": suggested,
        "sol_basis": basis,
        "sol_errors": form.errors.get("sol_date", []),
    }
    return render(request, "cases/intake.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# The case page
# ---------------------------------------------------------------------------------------------


def _can_take(user: User, case: Case) -> bool:
    if case.assigned_to_id or not case.is_open or user.role not in WRITERS:
        return False
    return user.role != Role.SPECIALIST or case.team_id in (None, user.team_id)


def _header_context(request, case: Case) -> dict:
    user = request.user
    today = timezone.localdate()
    case.sol_state = _sol_state(case, today)
    can_edit = selectors.can_edit_case(user, case)
    next_statuses = [
        (value, label) for value, label in Case.Status.choices if case.can_move_to(value)
    ]
    return {
        "case": case,
        "member": case.member,
        "tabs": case_tabs(case.pk),
        "can_edit": can_edit,
        "can_write": user.role in WRITERS,
        "can_take": _can_take(user, case),
        "can_ask": can_edit and user.role == Role.SPECIALIST,
        "next_statuses": next_statuses,
        "outcomes": Case.Outcome.choices,
        "status_form": StatusForm(),
        "return_form": ReturnForm(),
        "ask_form": AskForm(),
        "assign_form": AssignForm() if user.role in SUPERVISING else None,
        "today": today,
    }


def _claim_totals(case: Case) -> dict:
    totals = case.case_claims.aggregate(
        lines=Count("id"),
        included_paid=Sum("claim_line__paid_amount", filter=Q(included=True)),
        included_lines=Count("id", filter=Q(included=True)),
        excluded_paid=Sum("claim_line__paid_amount", filter=Q(included=False)),
        excluded_lines=Count("id", filter=Q(included=False)),
        review=Count("id", filter=Q(needs_review=True)),
        late=Count("id", filter=Q(late_arriving=True)),
    )
    totals["included_paid"] = totals["included_paid"] or 0
    totals["excluded_paid"] = totals["excluded_paid"] or 0
    return totals


def _summary_context(request, case: Case) -> dict:
    spans = list(case.member.eligibility.all())
    eligible = any(span.covers(case.incident_date) for span in spans)
    duplicates = list(
        selectors.possible_duplicates(
            member=case.member, incident_date=case.incident_date, exclude_id=case.pk
        )
    )
    return {
        "eligibility": spans,
        "not_eligible": not eligible,
        "duplicates": duplicates,
        "totals": _claim_totals(case),
        "open_deadlines": list(
            case.deadlines.filter(done_at__isnull=True)
            .select_related("owner")
            .order_by("due_date")[:5]
        ),
        "questions": list(
            case.questions.select_related("asked_by", "answered_by").order_by("-asked_at")[:5]
        ),
        "assignments": list(case.assignments.select_related("assigned_to", "assigned_by")[:5]),
    }


def _parties_context(request, case: Case, form: AddPartyForm | None = None) -> dict:
    form = form or AddPartyForm()
    term = request.GET.get("party_q", "").strip()[:100]
    choices = Party.objects.filter(is_active=True).order_by("name", "id")
    if term:
        choices = choices.filter(name__icontains=term)
    if not form.is_bound:
        # The list to pick from is bounded; the search narrows it. Validation takes any party.
        form.fields["party"].queryset = choices[:200]
    return {
        "links": list(
            case.case_parties.select_related("party", "party__firm").order_by("role", "id")
        ),
        "party_form": form,
        "party_q": term,
    }


def _dotted(code: str, code_set: str) -> str:
    if len(code) <= 3:
        return code
    split = 4 if code_set.upper().startswith("ICD9") and code[0] in "Ee" else 3
    return f"{code[:split]}.{code[split:]}"


def _with_diagnoses(claims: list[CaseClaim]) -> list[CaseClaim]:
    """Attach (code, dotted code, description) to each line; each distinct code looked up once."""
    descriptions: dict[str, str] = {}
    for cc in claims:
        line = cc.claim_line
        diagnoses = []
        for code in line.diagnosis_list:
            if code not in descriptions:
                descriptions[code] = (
                    describe_icd10(code) if not line.code_set.upper().startswith("ICD9") else ""
                )
            diagnoses.append((code, _dotted(code, line.code_set), descriptions[code]))
        cc.diagnoses = diagnoses
    return claims


CLAIM_FILTERS = {
    "included": Q(included=True),
    "excluded": Q(included=False),
    "review": Q(needs_review=True),
    "late": Q(late_arriving=True),
}


def _claims_context(request, case: Case, errors: dict | None = None) -> dict:
    show = request.GET.get("show", "")
    claims = selectors.case_claims(case)
    if show in CLAIM_FILTERS:
        claims = claims.filter(CLAIM_FILTERS[show])
    claims = _with_diagnoses(list(claims))
    for cc in claims:
        cc.decide_form = (errors or {}).get(cc.pk)
    return {"claims": claims, "totals": _claim_totals(case), "show": show}


def _activity_context(request, case: Case, form: ActivityForm | None = None) -> dict:
    activities = case.activities.select_related("party", "created_by").order_by(
        "-occurred_at", "-id"
    )
    page = Paginator(activities, 100).get_page(request.GET.get("page"))
    return {
        "page": page,
        "activities": list(page.object_list),
        "activity_form": form or ActivityForm(case=case),
    }


def _tasks_context(request, case: Case, form: DeadlineForm | None = None) -> dict:
    deadlines = list(
        case.deadlines.select_related("owner", "done_by").order_by(
            F("done_at").asc(nulls_first=True), "due_date", "id"
        )
    )
    return {"deadlines": deadlines, "deadline_form": form or DeadlineForm()}


def _documents_context(request, case: Case, form: UploadForm | None = None) -> dict:
    return {
        "documents": list(case.documents.select_related("uploaded_by", "recipient")),
        "upload_form": form or UploadForm(),
        "max_upload_mb": services.MAX_UPLOAD_BYTES // (1024 * 1024),
    }


# --- history ---------------------------------------------------------------------------------

# Bookkeeping columns that change with every save and say nothing a reader needs.
HISTORY_NOISE = {
    "decided_at",
    "assigned_at",
    "created_at",
    "added_at",
    "closed_at",
    "imported_at",
    "ready_at",
    "delivered_at",
    "delivery_attempts",
}
# Relations shown by name: fetched with the history rows, so naming them costs no query.
NAMED_RELATIONS = {
    "assigned_to",
    "decided_by",
    "owner",
    "done_by",
    "created_by",
    "uploaded_by",
    "answered_by",
    "asked_by",
    "supervisor",
    "jurisdiction",
    "team",
    "party",
    "recipient",
}


@dataclass
class HistoryEntry:
    at: datetime
    user: User | None
    kind: str
    label: str
    action: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def _history_sources(case: Case):
    """(kind, historical rows, label of a row, fields shown when a row has no predecessor)."""
    pk = case.pk
    return [
        ("Case", Case.history.filter(id=pk), lambda r: case.number, ["status", "assigned_to"]),
        (
            "Claim line",
            CaseClaim.history.filter(case_id=pk).select_related("claim_line"),
            lambda r: (
                f"{r.claim_line.claim_number}-{r.claim_line.line_number}"
                if r.claim_line
                else f"#{r.claim_line_id}"
            ),
            ["included", "reason"],
        ),
        (
            "Party",
            CaseParty.history.filter(case_id=pk),
            lambda r: f"{r.party.name if r.party else r.party_id} ({r.get_role_display()})",
            ["claim_number", "policy_number"],
        ),
        ("Activity", Activity.history.filter(case_id=pk), lambda r: r.subject, ["kind"]),
        ("Task", Deadline.history.filter(case_id=pk), lambda r: r.title, ["due_date", "owner"]),
        ("Document", Document.history.filter(case_id=pk), lambda r: r.title, ["kind"]),
        (
            "Question",
            SupervisorQuestion.history.filter(case_id=pk),
            lambda r: "to the supervisor",
            ["question"],
        ),
    ]


def _related_name(obj) -> str:
    if isinstance(obj, User):
        return obj.get_full_name() or obj.username
    if isinstance(obj, Jurisdiction):
        return obj.code
    return str(obj)


def _display(model, name: str, value, names: dict) -> str:
    if value is None or value == "":
        return "—"
    if name in NAMED_RELATIONS:
        return names.get((name, value), f"#{value}")
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


def _label(model, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def case_history(case: Case) -> list[HistoryEntry]:
    """Every change to the case and to what hangs off it, newest first: who, when, what.

    One query per source, whatever the number of rows; consecutive rows of one object are
    compared with simple-history's `diff_against`.
    """
    raw = []
    names: dict[tuple[str, int], str] = {}
    for kind, rows, label, first_fields in _history_sources(case):
        relations = [f.name for f in rows.model._meta.fields if f.name in NAMED_RELATIONS]
        rows = rows.select_related("history_user", *relations).order_by(
            "history_date", "history_id"
        )
        previous_by_object: dict[int, object] = {}
        for record in rows:
            for name in relations:
                related = getattr(record, name)
                if related is not None:
                    names[(name, related.pk)] = _related_name(related)
            raw.append(
                (kind, record, previous_by_object.get(record.id), first_fields, label(record))
            )
            previous_by_object[record.id] = record

    entries = []
    for kind, record, previous, first_fields, label in raw:
        model = record.instance_type
        changes = []
        if record.history_type == "-":
            action = "Removed"
        elif previous is not None and record.history_type == "~":
            action = "Changed"
            delta = record.diff_against(previous, excluded_fields=HISTORY_NOISE)
            for change in delta.changes:
                changes.append(
                    (
                        _label(model, change.field),
                        _display(model, change.field, change.old, names),
                        _display(model, change.field, change.new, names),
                    )
                )
            if not changes:
                continue
        else:
            # Created, or the oldest row there is (screening attaches lines in bulk, without a
            # creation row): show what it held.
            action = "Created" if record.history_type == "+" else "Changed"
            for name in first_fields:
                value = getattr(record, f"{name}_id" if name in NAMED_RELATIONS else name)
                changes.append((_label(model, name), "", _display(model, name, value, names)))
        entries.append(
            HistoryEntry(
                at=record.history_date,
                user=record.history_user,
                kind=kind,
                label=label,
                action=action,
                changes=changes,
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def _history_context(request, case: Case) -> dict:
    page = Paginator(case_history(case), 100).get_page(request.GET.get("page"))
    return {"page": page, "entries": list(page.object_list)}


TAB_CONTEXT = {
    "detail": _summary_context,
    "parties": _parties_context,
    "claims": _claims_context,
    "activity": _activity_context,
    "tasks": _tasks_context,
    "documents": _documents_context,
    "history": _history_context,
}


def _case_page(
    request, case: Case, tab: str, *, status: int = 200, header: dict | None = None, **tab_kwargs
):
    context = _header_context(request, case)
    context.update(header or {})
    context.update(TAB_CONTEXT[tab](request, case, **tab_kwargs))
    context["tab"] = tab
    _log_members(request, [case.member_id], case_id=case.pk)
    return render(request, f"cases/tab_{tab}.html", context, status=status)


def _tab_view(tab: str):
    @staff_required
    @require_GET
    def view(request, pk: int):
        case = selectors.case_get(user=request.user, id=pk)
        return _case_page(request, case, tab)

    view.__name__ = f"case_{tab}"
    return view


case_detail = _tab_view("detail")
case_parties = _tab_view("parties")
case_claims = _tab_view("claims")
case_activity = _tab_view("activity")
case_tasks = _tab_view("tasks")
case_documents = _tab_view("documents")
case_history_tab = _tab_view("history")


def _editable_case(request, pk: int) -> Case:
    case = selectors.case_get(user=request.user, id=pk)
    if not selectors.can_edit_case(request.user, case):
        raise PermissionDenied("Only the assigned specialist or a supervisor may change this case.")
    return case


# ---------------------------------------------------------------------------------------------
# Claims: include / exclude
# ---------------------------------------------------------------------------------------------


@writer_required
@require_POST
def decide_claim(request, pk: int, cc: int):
    case = _editable_case(request, pk)
    case_claim = get_object_or_404(CaseClaim, pk=cc, case=case)
    form = DecideClaimForm(request.POST)
    decided = False
    if form.is_valid():
        try:
            services.decide_claim(
                case_claim=case_claim,
                included=form.cleaned_data["included"],
                reason=form.cleaned_data["reason"],
                decided_by=request.user,
            )
            decided = True
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
    if not _is_partial(request):
        if decided:
            messages.success(request, "Decision saved.")
            return redirect(_tab_url(case, "claims"))
        return _case_page(request, case, "claims", status=400, errors={case_claim.pk: form})
    case.refresh_from_db(fields=["lien_amount"])
    row = _with_diagnoses([selectors.case_claims(case).get(pk=case_claim.pk)])[0]
    row.decide_form = None if decided else form
    _log_members(request, [case.member_id], case_id=case.pk)
    return render(
        request,
        "cases/_claim_decided.html",
        {
            "cc": row,
            "case": case,
            "totals": _claim_totals(case),
            "can_edit": True,
            # htmx focuses [autofocus] in swapped content: keyboard users stay on the row.
            "refocus": True,
        },
    )


# ---------------------------------------------------------------------------------------------
# Status, assignment, questions
# ---------------------------------------------------------------------------------------------


@writer_required
@require_POST
def change_status(request, pk: int):
    case = _editable_case(request, pk)
    return _header_form_action(
        request,
        case,
        StatusForm(request.POST),
        form_key="status_form",
        open_form="status",
        call=lambda data: services.change_status(
            case=case, status=data["status"], changed_by=request.user, outcome=data["outcome"]
        ),
        success=lambda changed: f"Status is now {changed.get_status_display()}.",
    )


def _header_form_action(request, case, form, *, form_key: str, open_form: str, call, success):
    """The case header's forms all work alike: validate, call the service, redirect with a
    message; service errors go back onto the form (400), a conflict becomes a message."""
    if form.is_valid():
        try:
            result = call(form.cleaned_data)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect(_tab_url(case))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, success(result))
            return redirect(_tab_url(case))
    return _case_page(
        request, case, "detail", status=400, header={form_key: form, "open_form": open_form}
    )


@writer_required
@require_POST
def take(request, pk: int):
    case = selectors.case_get(user=request.user, id=pk)
    try:
        services.take_case(case=case, user=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{case.number} is yours.")
    return redirect(_safe_next(request, _tab_url(case)))


@role_required(*SUPERVISING)
@require_POST
def assign(request, pk: int):
    case = selectors.case_get(user=request.user, id=pk)
    return _header_form_action(
        request,
        case,
        AssignForm(request.POST),
        form_key="assign_form",
        open_form="assign",
        call=lambda data: services.assign_case(
            case=case, assignee=data["assignee"], assigned_by=request.user, note=data["note"]
        ),
        success=lambda assigned: f"{assigned.number} assigned to {assigned.assigned_to}.",
    )


@writer_required
@require_POST
def give_back(request, pk: int):
    case = _editable_case(request, pk)
    return _header_form_action(
        request,
        case,
        ReturnForm(request.POST),
        form_key="return_form",
        open_form="return",
        call=lambda data: services.return_case(case=case, user=request.user, note=data["note"]),
        success=lambda returned: f"{returned.number} went back to the queue.",
    )


@writer_required
@require_POST
def ask(request, pk: int):
    case = _editable_case(request, pk)
    return _header_form_action(
        request,
        case,
        AskForm(request.POST),
        form_key="ask_form",
        open_form="ask",
        call=lambda data: services.ask_supervisor(
            case=case, asked_by=request.user, question=data["question"]
        ),
        success=lambda _question: "Your question went to your supervisor.",
    )


def _questions_for(user: User):
    questions = SupervisorQuestion.objects.filter(
        case__in=selectors.cases_visible_to(user)
    ).select_related("case", "asked_by", "answered_by")
    if user.role == Role.SUPERVISOR:
        questions = questions.filter(supervisor=user)
    return questions


@role_required(Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
@require_GET
def questions(request):
    return _questions_page(request)


def _questions_page(request, forms: dict | None = None, status: int = 200):
    mine = _questions_for(request.user)
    open_questions = list(mine.filter(answered_at__isnull=True).order_by("asked_at", "id")[:100])
    for item in open_questions:
        item.form = (forms or {}).get(item.pk) or AnswerForm()
    answered = list(mine.filter(answered_at__isnull=False).order_by("-answered_at", "-id")[:20])
    return render(
        request,
        "cases/questions.html",
        {
            "open_questions": open_questions,
            "answered": answered,
            "can_answer": request.user.role in SUPERVISING,
        },
        status=status,
    )


@role_required(*SUPERVISING)
@require_POST
def answer(request, id: int):
    question = get_object_or_404(_questions_for(request.user), pk=id)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.answer_question(
                question=question, answered_by=request.user, answer=form.cleaned_data["answer"]
            )
        except Conflict as exc:
            messages.error(request, exc.message)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Answer sent to {question.asked_by}.")
        if not form.errors:
            return redirect(_safe_next(request, reverse("cases:questions")))
    return _questions_page(request, forms={question.pk: form}, status=400)


# ---------------------------------------------------------------------------------------------
# Parties, activity, tasks, documents
# ---------------------------------------------------------------------------------------------


@writer_required
@require_POST
def add_party(request, pk: int):
    case = _editable_case(request, pk)
    form = AddPartyForm(request.POST)
    if form.is_valid():
        try:
            link = services.add_case_party(
                case=case,
                party=form.cleaned_data["party"],
                role=form.cleaned_data["role"],
                added_by=request.user,
                **form.details(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{link.party} added as {link.get_role_display()}.")
            return redirect(_tab_url(case, "parties"))
    return _case_page(request, case, "parties", status=400, form=form)


@writer_required
@require_POST
def add_activity(request, pk: int):
    case = _editable_case(request, pk)
    form = ActivityForm(request.POST, case=case)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.log_activity(
                case=case,
                logged_by=request.user,
                kind=data["kind"],
                direction=data["direction"],
                party=data["party"],
                subject=data["subject"],
                outcome=data["outcome"],
                body=data["body"],
                occurred_at=data["occurred_at"],
                follow_up_on=data["follow_up_on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Logged.")
            return redirect(_tab_url(case, "activity"))
    return _case_page(request, case, "activity", status=400, form=form)


@writer_required
@require_POST
def add_task(request, pk: int):
    case = _editable_case(request, pk)
    form = DeadlineForm(request.POST)
    if form.is_valid():
        try:
            services.add_deadline(case=case, created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Task added.")
            return redirect(_tab_url(case, "tasks"))
    return _case_page(request, case, "tasks", status=400, form=form)


@writer_required
@require_POST
def deadline_done(request, id: int):
    deadline = get_object_or_404(
        Deadline.objects.filter(case__in=selectors.cases_visible_to(request.user)), pk=id
    )
    services.complete_deadline(deadline=deadline, done_by=request.user)
    messages.success(request, f"Done: {deadline.title}.")
    return redirect(_safe_next(request, _tab_url(deadline.case_id, "tasks")))


@writer_required
@require_POST
def upload(request, pk: int):
    case = _editable_case(request, pk)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = services.upload_document(
                case=case,
                uploaded_by=request.user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Uploaded {document.title}.")
            return redirect(_tab_url(case, "documents"))
    return _case_page(request, case, "documents", status=400, form=form)


@staff_required
@require_GET
def document_download(request, id: int):
    document = get_object_or_404(
        Document.objects.filter(case__in=selectors.cases_visible_to(request.user)).select_related(
            "case"
        ),
        pk=id,
    )
    if document.status != Document.Status.READY or not document.file:
        raise Http404("This document is not ready.")
    _log_members(
        request,
        [document.case.member_id],
        case_id=document.case_id,
        action=PhiAccess.Action.DOWNLOAD,
        detail=f"document {document.pk}",
    )
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        # The stored name never carries the uploaded one, which may hold PHI.
        filename=f"{document.case.number}-{document.pk}{document.extension}",
        content_type=document.content_type,
    )


# ---------------------------------------------------------------------------------------------
# Queue, workload
# ---------------------------------------------------------------------------------------------


def _unassigned(user: User):
    return (
        selectors.cases_visible_to(user)
        .filter(assigned_to__isnull=True)
        .exclude(status=Case.Status.CLOSED)
    )


@staff_required
@require_GET
def queue(request):
    cases = (
        _unassigned(request.user)
        .select_related("member", "jurisdiction", "team")
        .order_by("priority", F("sol_date").asc(nulls_last=True), "opened_at", "id")
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    today = timezone.localdate()
    for case in rows:
        case.sol_state = _sol_state(case, today)
    _log_members(request, [case.member_id for case in rows])
    can_take = {case.pk for case in rows if _can_take(request.user, case)}
    return render(
        request,
        "cases/queue.html",
        {"page": page, "rows": rows, "can_take": can_take},
    )


@role_required(Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)
@require_http_methods(["GET", "POST"])
def workload(request):
    user = request.user
    team_param = request.GET.get("team", "")
    if team_param == "all" or (not team_param and not user.team_id):
        team_id = None
    else:
        team_id = int(team_param) if team_param.isdigit() else user.team_id
    form = ReassignForm()
    status = 200
    if request.method == "POST":
        if user.role not in SUPERVISING:
            raise PermissionDenied("Auditors do not reassign cases.")
        form = ReassignForm(request.POST)
        if form.is_valid():
            number = form.cleaned_data["case_number"]
            case = selectors.cases_visible_to(user).filter(number=number).first()
            if case is None:
                form.add_error("case_number", f"No case numbered {number}.")
            else:
                try:
                    services.assign_case(
                        case=case,
                        assignee=form.cleaned_data["assignee"],
                        assigned_by=user,
                        note=form.cleaned_data["note"],
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(
                        request, f"{case.number} now with {form.cleaned_data['assignee']}."
                    )
                    return redirect(request.get_full_path())
        status = 400
    return render(
        request,
        "cases/workload.html",
        {
            "people": list(selectors.workload(team_id=team_id)),
            "teams": list(Team.objects.all()),
            "team_id": team_id,
            "queue_size": _unassigned(user).count(),
            "form": form,
            "can_assign": user.role in SUPERVISING,
        },
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# "My work" panels on the home page
# ---------------------------------------------------------------------------------------------


def my_work_context(user: User) -> dict:
    """What the home page's case panels show; a fixed number of queries (at most 5).

    Only case numbers and facts are shown, never member names, so the home page reads no PHI.
    """
    today = timezone.localdate()
    if user.role == Role.SPECIALIST:
        open_cases = Case.objects.filter(assigned_to=user).exclude(status=Case.Status.CLOSED)
        deadlines = (
            Deadline.objects.filter(owner=user, done_at__isnull=True, due_date__lte=today)
            .select_related("case")
            .order_by("due_date", "id")
        )
        return {
            "my_work": {
                "kind": "specialist",
                "today": today,
                "open_count": open_cases.count(),
                "top_cases": list(
                    open_cases.select_related("jurisdiction").order_by(
                        "priority", F("sol_date").asc(nulls_last=True), "opened_at"
                    )[:10]
                ),
                "deadlines": list(deadlines[:20]),
                "questions": list(
                    SupervisorQuestion.objects.filter(asked_by=user, answered_at__isnull=True)
                    .select_related("case", "supervisor")
                    .order_by("-asked_at")[:10]
                ),
                "queue_size": _unassigned(user).count(),
            }
        }
    if user.role in SUPERVISING:
        waiting = SupervisorQuestion.objects.filter(answered_at__isnull=True)
        if user.role == Role.SUPERVISOR:
            waiting = waiting.filter(supervisor=user)
        return {
            "my_work": {
                "kind": "supervisor",
                "today": today,
                "questions": list(
                    waiting.select_related("case", "asked_by").order_by("asked_at")[:10]
                ),
                "question_count": waiting.count(),
                "queue_size": _unassigned(user).count(),
            }
        }
    return {"my_work": None}
