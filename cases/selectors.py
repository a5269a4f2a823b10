"""Reads: who may see which case, and the querysets every list, page, search and export starts
from. A wrong id is naturally a 404 because lookups go through `cases_visible_to`."""

import json
import re
from datetime import date

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Reverse
from django.http import Http404
from django.utils import timezone

from recovery.core.models import Role, User
from recovery.crypto import keyed_hash

from .models import Case, CaseClaim, CaseParty, Deadline, Jurisdiction, Member

CASE_NUMBER_RE = re.compile(r"^TPL-\d{4}-\d{1,6}$", re.IGNORECASE)


def attorney_case_filter(user: User) -> Q:
    """Cases where the user's firm (or the user's own party record) is attorney of record."""
    if not user.party_id:
        return Q(pk__in=[])
    links = CaseParty.objects.filter(
        case=OuterRef("pk"),
        role=CaseParty.Role.ATTORNEY_OF_RECORD,
        is_active=True,
    ).filter(Q(party_id=user.party_id) | Q(party__firm_id=user.party_id))
    return Q(Exists(links))


def cases_visible_to(user: User) -> QuerySet[Case]:
    """The one place that decides who sees which case (DESIGN §3)."""
    cases = Case.objects.all()
    if not user.is_authenticated or not user.is_active:
        return cases.none()
    if user.role in (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR):
        return cases
    if user.role == Role.SPECIALIST:
        # Their own cases, their team's, and the unit-wide queue of unassigned team-less cases.
        mine = Q(assigned_to=user) | Q(assigned_to__isnull=True, team__isnull=True)
        if user.team_id:
            mine |= Q(team_id=user.team_id)
        return cases.filter(mine)
    if user.role == Role.ATTORNEY:
        return cases.filter(attorney_case_filter(user))
    return cases.none()


def can_edit_case(user: User, case: Case) -> bool:
    """Specialists edit their own cases; supervisors and admins all; auditors and attorneys none."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    return user.role == Role.SPECIALIST and case.assigned_to_id == user.pk


def case_get(*, user: User, id: int, for_update: bool = False) -> Case:
    cases = cases_visible_to(user).select_related(
        "member", "jurisdiction", "assigned_to", "team", "created_by", "balance"
    )
    if for_update:
        cases = cases.select_for_update(of=("self",))
    try:
        return cases.get(pk=id)
    except (Case.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such case") from exc


def apply_case_search(cases: QuerySet[Case], term: str) -> QuerySet[Case]:
    """Search by case number, member name or program id (exact, through its keyed hash).

    Shaped for indexes at a million cases: the member conditions are one subquery on members
    (keyed hash, and name prefixes on UPPER(name) text_pattern_ops indexes); digits also match
    the end of a case number (a prefix of the reversed number, indexed), and the list takes the
    union of both by primary key. An OR of conditions on two tables in one WHERE would scan
    every case."""
    term = " ".join(term.split())[:100]
    if not term:
        return cases
    if CASE_NUMBER_RE.match(term):
        prefix, year, number = term.upper().split("-")
        return cases.filter(number=f"{prefix}-{year}-{int(number):06d}")
    members = Q(program_id_hash=keyed_hash(term))
    words = term.split()
    if len(words) == 1:
        members |= Q(last_name__istartswith=term) | Q(first_name__istartswith=term)
    else:
        first, last = words[0], words[-1]
        members |= Q(first_name__istartswith=first, last_name__istartswith=last)
        members |= Q(last_name__istartswith=first.rstrip(","), first_name__istartswith=last)
    matching_members = Member.objects.filter(members).values("pk")
    if not term.isdigit():
        # Every stored number has the TPL-YYYY-NNNNNN shape that CASE_NUMBER_RE took above, so
        # no other term can equal one: the members are the whole answer, and a plain
        # member_id IN (...) lets the planner read the cases in the list's order.
        return cases.filter(member_id__in=matching_members)
    matches = (
        Case.objects.filter(member_id__in=matching_members)
        .order_by()
        .values("pk")
        .union(
            Case.objects.alias(number_reversed=Reverse("number"))
            .filter(number_reversed__startswith=term[::-1])
            .order_by()
            .values("pk"),
            all=True,
        )
    )
    return cases.filter(pk__in=matches)


# Sort key -> columns. The tie-breaker follows the sort's direction so that one (column, id)
# index serves both directions (see Case.Meta.indexes).
SORTS = {
    "number": ("number",),  # unique: no tie-breaker needed, and its index gives the order
    "-number": ("-number",),
    "opened": ("opened_at", "id"),
    "-opened": ("-opened_at", "-id"),
    "incident": ("incident_date", "id"),
    "-incident": ("-incident_date", "-id"),
    "lien": ("lien_amount", "id"),
    "-lien": ("-lien_amount", "-id"),
    "member": ("member__last_name", "member__first_name", "id"),
    "-member": ("-member__last_name", "-member__first_name", "-id"),
    "status": ("status", "id"),
    "-status": ("-status", "-id"),
    "sol": ("sol_date", "id"),
    "-sol": ("-sol_date", "-id"),
}


def case_list(
    *,
    user: User,
    search: str = "",
    status: str = "",
    assigned_to: int | str | None = None,
    jurisdiction: str = "",
    due: str = "",
    sort: str = "-opened",
    today: date | None = None,
) -> QuerySet[Case]:
    """The case list: visible cases, searched, filtered and sorted, with what each row shows
    fetched in the same query."""
    cases = cases_visible_to(user).select_related(
        "member", "assigned_to", "jurisdiction", "balance"
    )
    cases = apply_case_search(cases, search)
    if status == "open":
        cases = cases.exclude(status=Case.Status.CLOSED)
    elif status in Case.Status.values:
        cases = cases.filter(status=status)
    if assigned_to == "me":
        cases = cases.filter(assigned_to=user)
    elif assigned_to == "none":
        cases = cases.filter(assigned_to__isnull=True)
    elif assigned_to not in (None, ""):
        try:
            cases = cases.filter(assigned_to_id=int(assigned_to))
        except (TypeError, ValueError):
            cases = cases.none()
    if jurisdiction:
        # By id, not through a join on the code: the planner then knows the state's share of
        # the cases from the column's statistics.
        state = Jurisdiction.objects.filter(code=jurisdiction.upper()[:2]).values_list("pk")
        cases = cases.filter(jurisdiction_id=(state.first() or (None,))[0])
    if due in ("overdue", "today", "week"):
        today = today or timezone.localdate()
        open_deadlines = Deadline.objects.filter(case=OuterRef("pk"), done_at__isnull=True)
        if due == "overdue":
            open_deadlines = open_deadlines.filter(due_date__lt=today)
        elif due == "today":
            open_deadlines = open_deadlines.filter(due_date__lte=today)
        else:
            open_deadlines = open_deadlines.filter(
                due_date__lte=today.fromordinal(today.toordinal() + 7)
            )
        cases = cases.filter(Exists(open_deadlines))
    ordering = SORTS.get(sort, SORTS["-opened"])
    narrowed = search or status or assigned_to not in (None, "") or jurisdiction or due
    if narrowed and (
        user.role == Role.SPECIALIST
        or (not search and _estimated_rows(cases) <= _sort_after_rows(sort))
    ):
        ordering = _read_first_then_sort(ordering)
    return cases.order_by(*ordering)


# Up to this many selected cases (the planner's estimate), a narrowed list is read through its
# filters and sorted; above it, a sort index is walked (see _read_first_then_sort).
SORT_AFTER_ROWS = 100_000


def _sort_after_rows(sort: str) -> int:
    # Sorting by member joins every selected case to its member first: a tenth as many.
    return SORT_AFTER_ROWS // 10 if sort.lstrip("-") == "member" else SORT_AFTER_ROWS


def _estimated_rows(cases: QuerySet[Case]) -> float:
    """The planner's estimate of the rows the filters select (one EXPLAIN, no execution).
    Without PostgreSQL's estimates, infinity: the sort index is walked as before."""
    if connection.vendor != "postgresql":
        return float("inf")
    output = cases.order_by().values("pk").explain(format="json")
    if not output:  # a filter that can match nothing (Django sends no query for it)
        return 0.0
    return float(json.loads(output)[0]["Plan"]["Plan Rows"])


def _read_first_then_sort(ordering: tuple[str, ...]) -> list:
    """The same order, in a form no index serves (COALESCE(x, x) is x, nulls included).

    A specialist sees one team's cases; a filter on top (a state, a status, a name) is often
    correlated with the team, and then walking a sort index of every case in the hope of
    finding 50 matches reads the whole table when the team has none (seconds at a million
    cases). Sorting what the filters select, read through their indexes, is bounded instead.
    Supervisors meet the same trap when a filter is correlated with the sort (a status with
    the opening date, the unassigned cases by number); their filtered set is sorted the same
    way when the planner expects at most SORT_AFTER_ROWS cases, and a dense filter (the open or
    closed cases) keeps the index walk, which finds 50 rows early there. A supervisor's search
    keeps the walk too: a common name prefix selects tens of thousands of cases across the
    unit, and measured at a million cases the walk was the faster of the two.
    """
    out = []
    for key in ordering:
        name = key.lstrip("-")
        if name == "id":
            out.append(key)
            continue
        expression = Coalesce(F(name), F(name))
        out.append(expression.desc() if key.startswith("-") else expression.asc())
    return out


def member_search(term: str) -> QuerySet[Member]:
    term = " ".join(term.split())[:100]
    if not term:
        return Member.objects.none()
    condition = Q(program_id_hash=keyed_hash(term)) | Q(ssn_hash=keyed_hash(term))
    words = term.split()
    if len(words) >= 2:
        condition |= Q(first_name__istartswith=words[0], last_name__istartswith=words[-1])
    elif not term.replace("-", "").isdigit():
        condition |= Q(last_name__istartswith=term)
    return Member.objects.filter(condition).order_by("last_name", "first_name")[:50]


def case_claims(case: Case) -> QuerySet[CaseClaim]:
    return case.case_claims.select_related("claim_line", "decided_by").order_by(
        "claim_line__service_from", "claim_line__claim_number", "claim_line__line_number"
    )


def possible_duplicates(
    *, member: Member, incident_date: date, exclude_id: int | None = None
) -> QuerySet[Case]:
    """Same member, incident within 30 days either side."""
    window = (
        date.fromordinal(incident_date.toordinal() - 30),
        date.fromordinal(incident_date.toordinal() + 30),
    )
    cases = Case.objects.filter(member=member, incident_date__range=window).select_related(
        "assigned_to"
    )
    if exclude_id:
        cases = cases.exclude(pk=exclude_id)
    return cases


def workload(*, team_id: int | None = None) -> QuerySet[User]:
    """Open cases and open deadlines per specialist, for the supervisor's workload view."""
    users = User.objects.filter(is_active=True, role__in=[Role.SPECIALIST, Role.SUPERVISOR])
    if team_id:
        users = users.filter(team_id=team_id)
    return users.annotate(
        open_cases=Count(
            "assigned_cases", filter=~Q(assigned_cases__status=Case.Status.CLOSED), distinct=True
        ),
        open_deadlines=Count("deadlines", filter=Q(deadlines__done_at__isnull=True), distinct=True),
    ).order_by("-open_cases", "username")
