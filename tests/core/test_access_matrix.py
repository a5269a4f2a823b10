"""Who reaches which endpoint: one row per URL of the project, one column per persona.

Every URL name that `django.urls.get_resolver()` knows (Django's own `admin/` aside, which the
admin site guards) has at least one row here, and `test_every_url_has_a_row` fails when an
endpoint is added without one or a row names a URL that no longer exists.

Personas (columns, in this order): `specialist` (assigned to the case, team East),
`specialist2` (team West), `supervisor`, `auditor`, `attorney` (of record on the case),
`attorney2` (another firm), anonymous. The administrator is checked on every row too and must
get what the supervisor gets (rows say otherwise with `admin=`).

A cell is a status code, `LOGIN` (a redirect to the login page) or, for a write, `OK`: the
request got past every access check (2xx, 3xx, or a 400/409 answer about the data; never
403/404/5xx). A denied request (401/403/404, or the login redirect) writes nothing: the test
watches the SQL of the request and fails on any INSERT, UPDATE or DELETE but the session's (and
a row's `may_write`); a 400/409 may also log the PHI its form shows again, and nothing else.

Writes are sent with empty or minimal data, each persona in a savepoint rolled back afterwards,
so one world (tests/core/access_world.py) serves every persona of a URL.
"""

import re
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.core.access_world import access_world, extras, world  # noqa: F401  (fixtures)

PERSONAS = ("specialist", "specialist2", "supervisor", "auditor", "attorney", "attorney2", None)
FIXTURES = {"admin": "admin_user"}  # persona -> fixture, where the names differ

GET, POST, PATCH = "GET", "POST", "PATCH"
LOGIN = "login"  # a redirect to the login page
OK = "ok"  # past the access checks: 2xx, 3xx (not to login), or 400/409 about the data
DENIED = {401, 403, 404, LOGIN}
# URL namespaces not in the matrix: Django's admin site guards its own pages.
SKIPPED_PREFIXES = ("admin/",)


@dataclass(frozen=True)
class Lit:
    """A literal URL argument (not an object of the world)."""

    value: str


# URL name -> its arguments: keys of the access world (their pk) or literals.
URL_ARGS: dict[str, tuple] = {
    "api-token": (),
    "api-me": (),
    "api-users": (),
    "api-schema": (),
    "api-docs": (),
    "jurisdiction-list": (),
    "case-list": (),
    "case-detail": ("mine",),
    "case-activities": ("mine",),
    "case-assign": ("mine",),
    "case-claims": ("mine",),
    "case-deadline-done": (
        "mine",
        "deadline",
    ),
    "case-deadlines": ("mine",),
    "case-decide": (
        "mine",
        "case_claim",
    ),
    "case-parties": ("mine",),
    "case-return-to-queue": ("mine",),
    "case-status": ("mine",),
    "case-take": ("mine",),
    "member-list": (),
    "member-detail": ("member",),
    "party-list": (),
    "party-detail": ("firm",),
    "claimline-list": (),
    "claimline-detail": ("claim_line",),
    "api-case-letters": ("mine",),
    "api-document-detail": ("mine_letter",),
    "api-document-download": ("mine_letter",),
    "api-document-send": ("mine_letter",),
    "lien-list": (),
    "lien-detail": ("lien",),
    "lien-amend": ("lien",),
    "lien-file": ("lien",),
    "lien-lines": ("lien",),
    "lien-receipt": ("lien",),
    "lien-release": ("lien",),
    "lien-release-sent": ("lien",),
    "lien-withdraw": ("lien",),
    "lienchange-list": (),
    "lienchange-approve": ("lien_change",),
    "lienchange-cancel": ("lien_change",),
    "lienchange-reject": ("lien_change",),
    "api-settlement-calculate": (),
    "settlement-list": (),
    "settlement-detail": ("settlement",),
    "settlement-approve": ("settlement",),
    "settlement-installments": ("settlement",),
    "settlement-reject": ("settlement",),
    "settlement-supersede": ("settlement",),
    "negotiation-entry-list": (),
    "negotiation-entry-detail": ("negotiation",),
    "balance-adjustment-list": (),
    "balance-adjustment-detail": ("adjustment",),
    "balance-adjustment-decide": ("adjustment",),
    "installment-payment": ("installment",),
    "ledger-deposit-list": (),
    "ledger-deposit-detail": ("deposit",),
    "ledger-disbursement-list": (),
    "ledger-disbursement-detail": ("disbursement",),
    "ledger-disbursement-approve": ("disbursement",),
    "ledger-disbursement-cancel": ("disbursement",),
    "ledger-disbursement-reject": ("disbursement",),
    "ledger-transaction-list": (),
    "ledger-transaction-detail": ("transaction",),
    "ledger-transaction-reverse": ("transaction",),
    "cases:list": (),
    "cases:new": (),
    "cases:queue": (),
    "cases:workload": (),
    "cases:questions": (),
    "cases:answer": ("question",),
    "cases:deadline-done": ("deadline",),
    "cases:document-download": ("mine_letter",),
    "cases:detail": ("mine",),
    "cases:parties": ("mine",),
    "cases:claims": ("mine",),
    "cases:activity": ("mine",),
    "cases:tasks": ("mine",),
    "cases:documents": ("mine",),
    "cases:history": ("mine",),
    "cases:decide-claim": (
        "mine",
        "case_claim",
    ),
    "cases:status": ("mine",),
    "cases:assign": ("mine",),
    "cases:take": ("mine",),
    "cases:return": ("mine",),
    "cases:ask": ("mine",),
    "cases:party-add": ("mine",),
    "cases:activity-add": ("mine",),
    "cases:task-add": ("mine",),
    "cases:upload": ("mine",),
    "cases:import": (),
    "cases:import-detail": ("import_batch",),
    "cases:import-progress": ("import_batch",),
    "cases:leads": (),
    "settlements:calculator": (),
    "settlements:results": (),
    "settlements:approvals": (),
    "settlements:case": ("mine",),
    "settlements:negotiation-add": ("mine",),
    "settlements:preview": ("mine",),
    "settlements:propose": ("mine",),
    "settlements:adjustment-request": ("mine",),
    "settlements:brief": ("mine",),
    "settlements:approve": ("settlement",),
    "settlements:reject": ("settlement",),
    "settlements:supersede": ("settlement",),
    "settlements:installments": ("settlement",),
    "settlements:payment": ("installment",),
    "settlements:adjustment-decide": ("adjustment",),
    "ledger:holding": (),
    "ledger:case": ("mine",),
    "ledger:deposit": ("mine",),
    "ledger:request": ("mine",),
    "ledger:split-preview": ("mine",),
    "ledger:approve": ("disbursement",),
    "ledger:reject": ("disbursement",),
    "ledger:cancel": ("disbursement",),
    "ledger:reverse": ("transaction",),
    "ledger:reconciliation": (),
    "ledger:statement": ("statement",),
    "ledger:month-end": (),
    "ledger:reports": (),
    "ledger:trial-balance": (),
    "ledger:held": (),
    "ledger:register": (),
    "ledger:federal-share": (),
    "ledger:aging": (),
    "ledger:gl-export": (),
    "dashboard:index": (),
    "dashboard:export": (Lit("status"),),
    "dashboard:reports": (),
    "dashboard:report-recoveries": (),
    "dashboard:report-liens": (),
    "dashboard:report-compromises": (),
    "dashboard:report-productivity": (),
    "dashboard:audit-package": ("mine",),
    "liens:case-lien": ("mine",),
    "liens:create": ("mine",),
    "liens:file": (
        "mine",
        "lien",
    ),
    "liens:amend": (
        "mine",
        "lien",
    ),
    "liens:release": (
        "mine",
        "lien",
    ),
    "liens:withdraw": (
        "mine",
        "lien",
    ),
    "liens:receipt": (
        "mine",
        "lien",
    ),
    "liens:release-sent": (
        "mine",
        "lien",
    ),
    "liens:decide": (
        "mine",
        "lien_change",
    ),
    "liens:cancel": (
        "mine",
        "lien_change",
    ),
    "liens:case-letters": ("mine",),
    "liens:letter-preview": ("mine",),
    "liens:letter-row": ("mine_letter",),
    "liens:letter-email": ("mine_letter",),
    "liens:letter-download": ("mine_letter",),
    "liens:batches": (),
    "liens:batch-progress": ("batch",),
    "liens:batch-cancel": ("batch",),
    "home": (),
    "healthz": (),
    "login": (),
    "logout": (),
    "otp-setup": (),
    "otp-verify": (),
    "password_change": (),
    "keepalive": (),
    "notifications": (),
    "notifications-read": (),
    "team": (),
    "access-log": (),
    "portal:home": (),
    "portal:invite": (),
    "portal:accept": ("invitation_token",),
    "portal:case": ("mine",),
    "portal:dispute": ("mine",),
    "portal:settlement": ("mine",),
    "portal:lien-amount": ("mine",),
    "portal:upload": ("mine",),
    "portal:disputes": (),
    "portal:dispute-decide": ("dispute",),
    "portal:document": ("mine_upload",),
    "portal:refer": (),
    "portal:referrals": (),
    "portal:referral": ("mine_referral",),
    "portal:referral-file": ("mine_referral", Lit("letter")),
    "portal:referral-open-case": ("mine_referral",),
    "portal:referral-convert": ("mine_referral",),
    "portal:referral-decline": ("mine_referral",),
}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    expected: tuple
    args: tuple | None = None  # overrides URL_ARGS[name]
    query: str = ""
    data: object = None  # a dict, or a callable taking the world
    admin: object = "supervisor"  # the administrator's code, or the persona it equals
    label: str = field(default="", compare=False)
    # Tables this endpoint writes by design even when it answers with a refusal or an error.
    may_write: tuple = ()

    def url(self, w) -> str:
        args = self.args if self.args is not None else URL_ARGS[self.name]
        values = [a.value if isinstance(a, Lit) else getattr(w[a], "pk", w[a]) for a in args]
        return reverse(self.name, args=values) + self.query


def R(name, method, expected, **options) -> Row:
    assert len(expected) == len(PERSONAS), name
    return Row(name, method, tuple(expected), **options)


def _deposit(w):
    return {
        "case": w["mine"].pk,
        "amount": "10.00",
        "received_on": timezone.localdate().isoformat(),
        "payer": "Acme Mutual",
        "instrument": "check",
        "reference": "CHK-2",
        "idempotency_key": "access-deposit-2",
    }


def _disbursement(w):
    return {
        "case": w["mine"].pk,
        "amount": "10.00",
        "payee": "Gulf Health Plan",
        "purpose": "mco_share",
    }


def _assign(w):
    return {"assignee": w["mine"].assigned_to_id}


def _letter(w):
    return {"kind": "lien_notice", "recipient": w["firm"].pk}


ROWS: list[Row] = [
    # Public on purpose: the token login, the schema and its docs, the health check, the login
    # page (signed-in users are sent on) and invitation links (the token is the credential).
    R("api-token", POST, (OK, OK, OK, OK, OK, OK, OK)),
    R("api-schema", GET, (200, 200, 200, 200, 200, 200, 200)),
    R("api-docs", GET, (200, 200, 200, 200, 200, 200, 200)),
    R("healthz", GET, (200, 200, 200, 200, 200, 200, 200)),
    R("login", GET, (302, 302, 302, 302, 302, 302, 200)),
    R("login", POST, (OK, OK, OK, OK, OK, OK, OK)),
    R("portal:accept", GET, (200, 200, 200, 200, 200, 200, 200)),
    R("portal:accept", POST, (OK, OK, OK, OK, OK, OK, OK)),
    # The API (session-authenticated here; anonymous callers get 401).
    R("api-me", GET, (200, 200, 200, 200, 200, 200, 401)),
    R("api-users", GET, (403, 403, 200, 200, 403, 403, 401)),
    R("jurisdiction-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("case-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("case-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("case-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("case-detail", PATCH, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-activities", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("case-activities", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-assign", POST, (403, 404, OK, 403, 403, 403, 401), data=_assign),
    R("case-claims", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("case-deadline-done", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-deadlines", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("case-deadlines", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-decide", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-parties", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("case-parties", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-return-to-queue", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-status", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("case-take", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("member-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("member-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("member-detail", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("member-detail", PATCH, (OK, OK, OK, 403, 403, 403, 401)),
    R("party-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("party-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("party-detail", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("party-detail", PATCH, (OK, OK, OK, 403, 403, 403, 401)),
    R("claimline-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("claimline-detail", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("api-case-letters", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("api-case-letters", POST, (OK, 404, OK, 403, 403, 403, 401), data=_letter),
    R("api-document-detail", GET, (200, 404, 200, 200, 200, 404, 401)),
    R("api-document-download", GET, (200, 404, 200, 200, 200, 404, 401)),
    R(
        "api-document-download",
        GET,
        (200, 404, 200, 200, 404, 200, 401),
        args=("theirs_letter",),
        label="the other firm's letter",
    ),
    R("api-document-send", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lien-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("lien-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("lien-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("lien-amend", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lien-file", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lien-lines", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("lien-receipt", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lien-release", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lien-release-sent", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lien-withdraw", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lienchange-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("lienchange-approve", POST, (403, 404, OK, 403, 403, 403, 401)),
    R("lienchange-cancel", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("lienchange-reject", POST, (403, 404, OK, 403, 403, 403, 401)),
    R("api-settlement-calculate", POST, (OK, OK, OK, OK, 403, 403, 401)),
    R("settlement-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("settlement-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("settlement-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("settlement-approve", POST, (403, 404, OK, 403, 403, 403, 401)),
    R("settlement-installments", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("settlement-reject", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("settlement-supersede", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("negotiation-entry-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("negotiation-entry-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("negotiation-entry-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("balance-adjustment-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("balance-adjustment-list", POST, (OK, OK, OK, 403, 403, 403, 401)),
    R("balance-adjustment-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("balance-adjustment-decide", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("installment-payment", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("ledger-deposit-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    # A body naming a case the caller may not see: the case field says it does not exist.
    R("ledger-deposit-list", POST, (OK, 400, OK, 403, 403, 403, 401), data=_deposit),
    R("ledger-deposit-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("ledger-disbursement-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("ledger-disbursement-list", POST, (OK, 400, OK, 403, 403, 403, 401), data=_disbursement),
    R("ledger-disbursement-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("ledger-disbursement-approve", POST, (403, 403, OK, 403, 403, 403, 401)),
    R("ledger-disbursement-cancel", POST, (OK, 404, OK, 403, 403, 403, 401)),
    R("ledger-disbursement-reject", POST, (403, 403, OK, 403, 403, 403, 401)),
    R("ledger-transaction-list", GET, (200, 200, 200, 200, 403, 403, 401)),
    R("ledger-transaction-detail", GET, (200, 404, 200, 200, 403, 403, 401)),
    R("ledger-transaction-reverse", POST, (403, 403, OK, 403, 403, 403, 401)),
    # Staff screens.
    R("cases:list", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    # The search form posts its term (it never goes into a URL); auditors search too.
    R("cases:list", POST, (OK, OK, OK, OK, 403, 403, LOGIN)),
    R("cases:new", GET, (200, 200, 200, 403, 403, 403, LOGIN)),
    R("cases:new", POST, (OK, OK, OK, 403, 403, 403, LOGIN)),
    R("cases:queue", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("cases:workload", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("cases:workload", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("cases:questions", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("cases:answer", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("cases:deadline-done", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:document-download", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:detail", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:parties", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:claims", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:activity", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:tasks", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:documents", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:history", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("cases:decide-claim", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:status", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:assign", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("cases:take", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:return", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:ask", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:party-add", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:activity-add", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:task-add", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:upload", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("cases:import", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("cases:import", POST, (OK, OK, OK, 403, 403, 403, LOGIN)),
    R("cases:import-detail", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("cases:import-progress", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("cases:leads", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("settlements:calculator", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("settlements:results", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("settlements:approvals", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("settlements:case", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("settlements:negotiation-add", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:preview", GET, (200, 404, 200, 403, 403, 403, LOGIN)),
    R("settlements:propose", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:adjustment-request", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:brief", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("settlements:approve", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:reject", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:supersede", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:installments", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:payment", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("settlements:adjustment-decide", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("ledger:holding", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:case", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("ledger:deposit", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("ledger:request", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("ledger:split-preview", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("ledger:approve", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("ledger:reject", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("ledger:cancel", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("ledger:reverse", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("ledger:reconciliation", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:reconciliation", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("ledger:statement", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:month-end", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:month-end", GET, (403, 403, 200, 200, 403, 403, LOGIN), query="?format=csv"),
    R("ledger:reports", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:trial-balance", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:trial-balance", GET, (403, 403, 200, 200, 403, 403, LOGIN), query="?format=csv"),
    R("ledger:held", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:held", GET, (403, 403, 200, 200, 403, 403, LOGIN), query="?format=csv"),
    R("ledger:register", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:register", GET, (403, 403, 200, 200, 403, 403, LOGIN), query="?format=csv"),
    R("ledger:federal-share", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:federal-share", GET, (403, 403, 200, 200, 403, 403, LOGIN), query="?format=csv"),
    R("ledger:aging", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("ledger:aging", GET, (403, 403, 200, 200, 403, 403, LOGIN), query="?format=csv"),
    R("ledger:gl-export", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("dashboard:index", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("dashboard:export", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    # Reports read the caller's slice of the cases; the audit package is one case's.
    R("dashboard:reports", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("dashboard:report-recoveries", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R(
        "dashboard:report-recoveries",
        GET,
        (200, 200, 200, 200, 403, 403, LOGIN),
        query="?format=csv",
    ),
    R("dashboard:report-liens", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("dashboard:report-liens", GET, (200, 200, 200, 200, 403, 403, LOGIN), query="?format=pdf"),
    R("dashboard:report-compromises", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("dashboard:report-productivity", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("dashboard:audit-package", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("liens:case-lien", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("liens:create", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:file", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:amend", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:release", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:withdraw", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:receipt", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:release-sent", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:decide", POST, (403, 403, OK, 403, 403, 403, LOGIN)),
    R("liens:cancel", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:case-letters", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("liens:case-letters", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:letter-preview", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:letter-row", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("liens:letter-email", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("liens:letter-download", GET, (200, 404, 200, 200, 200, 404, LOGIN)),
    R(
        "liens:letter-download",
        GET,
        (200, 404, 200, 200, 404, 200, LOGIN),
        args=("theirs_letter",),
        label="the other firm's letter",
    ),
    R("liens:batches", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("liens:batches", POST, (OK, OK, OK, 403, 403, 403, LOGIN)),
    R("liens:batch-progress", GET, (200, 404, 200, 200, 403, 403, LOGIN)),
    R("liens:batch-cancel", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    # Core pages.
    R("home", GET, (200, 200, 200, 200, 302, 302, LOGIN)),
    # Signing out lands on the login page; axes records the sign-out.
    R(
        "logout",
        POST,
        (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
        may_write=("axes_accesslog",),
    ),
    R("otp-setup", GET, (200, 200, 200, 200, 200, 200, LOGIN)),
    # The enrolment page keeps one unconfirmed device, so its secret stays put between tries.
    R("otp-setup", POST, (OK, OK, OK, OK, OK, OK, LOGIN), may_write=("otp_totp_totpdevice",)),
    R("otp-verify", GET, (302, 302, 302, 302, 302, 302, LOGIN)),
    R("otp-verify", POST, (OK, OK, OK, OK, OK, OK, LOGIN)),
    R("password_change", GET, (200, 200, 200, 200, 200, 200, LOGIN)),
    R("password_change", POST, (OK, OK, OK, OK, OK, OK, LOGIN)),
    R("keepalive", POST, (OK, OK, OK, OK, OK, OK, LOGIN)),
    R("notifications", GET, (200, 200, 200, 200, 200, 200, LOGIN)),
    R("notifications-read", POST, (OK, OK, OK, OK, OK, OK, LOGIN)),
    R("team", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    R("access-log", GET, (403, 403, 200, 200, 403, 403, LOGIN)),
    # The attorney portal and its staff queues.
    R("portal:home", GET, (403, 403, 403, 403, 200, 200, LOGIN)),
    R("portal:invite", GET, (200, 200, 200, 403, 403, 403, LOGIN)),
    R("portal:invite", POST, (OK, OK, OK, 403, 403, 403, LOGIN)),
    R("portal:case", GET, (403, 403, 403, 403, 200, 404, LOGIN)),
    R(
        "portal:case",
        GET,
        (403, 403, 403, 403, 404, 200, LOGIN),
        args=("theirs",),
        label="the other firm's case",
    ),
    R("portal:dispute", POST, (403, 403, 403, 403, OK, 404, LOGIN)),
    R("portal:settlement", POST, (403, 403, 403, 403, OK, 404, LOGIN)),
    R("portal:lien-amount", POST, (403, 403, 403, 403, OK, 404, LOGIN)),
    R("portal:upload", POST, (403, 403, 403, 403, OK, 404, LOGIN)),
    R("portal:disputes", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("portal:dispute-decide", POST, (OK, 404, OK, 403, 403, 403, LOGIN)),
    R("portal:document", GET, (403, 403, 403, 403, 200, 404, LOGIN)),
    R(
        "portal:document",
        GET,
        (403, 403, 403, 403, 404, 200, LOGIN),
        args=("theirs_upload",),
        label="the other firm's upload",
    ),
    R("portal:refer", GET, (403, 403, 403, 403, 200, 200, LOGIN)),
    R("portal:refer", POST, (403, 403, 403, 403, OK, OK, LOGIN)),
    R("portal:referrals", GET, (200, 200, 200, 200, 403, 403, LOGIN)),
    R("portal:referral", GET, (200, 200, 200, 200, 200, 404, LOGIN)),
    R("portal:referral-file", GET, (200, 200, 200, 200, 200, 404, LOGIN)),
    R("portal:referral-open-case", GET, (302, 302, 302, 403, 403, 403, LOGIN)),
    R("portal:referral-convert", POST, (OK, OK, OK, 403, 403, 403, LOGIN)),
    R("portal:referral-decline", POST, (OK, OK, OK, 403, 403, 403, LOGIN)),
]


def _url_names(patterns=None, prefix="", namespace=None):
    """(route, name) of every URL pattern, namespaced as `reverse` takes it."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _url_names(pattern.url_patterns, route, ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield route, name


def test_every_url_has_a_row():
    routes = [(r, n) for r, n in _url_names() if not r.startswith(SKIPPED_PREFIXES)]
    unnamed = [route for route, name in routes if not name]
    assert not unnamed, f"URL patterns without a name cannot have a row: {unnamed}"
    names = {name for _, name in routes}
    rows = {row.name for row in ROWS}
    assert not names - rows, f"URLs without a row in the access matrix: {sorted(names - rows)}"
    assert not rows - names, f"rows naming URLs that no longer exist: {sorted(rows - names)}"
    assert set(URL_ARGS) == names, sorted(set(URL_ARGS) ^ names)


WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _writes(queries, *, allowed=('"django_session"',)) -> list[str]:
    return [
        q["sql"][:160]
        for q in queries
        if WRITE.match(q["sql"]) and not any(table in q["sql"] for table in allowed)
    ]


def _send(client, row: Row, url: str, w):
    data = row.data(w) if callable(row.data) else (row.data or {})
    if row.method == GET:
        return client.get(url)
    if url.startswith("/api/"):
        return client.generic(row.method, url, data=_json(data), content_type="application/json")
    return client.post(url, data)


def _json(data) -> str:
    import json

    return json.dumps(data)


def _outcome(response) -> object:
    if response.status_code in (301, 302, 303) and response["Location"].startswith(
        reverse("login")
    ):
        return LOGIN
    return response.status_code


def _matches(expected, got) -> bool:
    if expected == OK:
        return got != LOGIN and (200 <= got < 400 or got in (400, 409))
    return expected == got


def _check(request, client, w, row: Row, persona: str | None, expected) -> str | None:
    url = row.url(w)
    with transaction.atomic():
        # One client (and so one load of the middleware) serves every persona; each signs in
        # afresh, and the savepoint takes its session away again.
        client.cookies.clear()
        if persona:
            client.force_login(request.getfixturevalue(FIXTURES.get(persona, persona)))
        with CaptureQueriesContext(connection) as queries:
            try:
                got = _outcome(_send(client, row, url, w))
            except Exception as exc:  # the test client re-raises what would be a 500
                got = f"500 ({type(exc).__name__}: {exc})"
        transaction.set_rollback(True)
    who = f"{persona or 'anonymous'}{f' ({row.label})' if row.label else ''}"
    if not _matches(expected, got):
        return f"{who} {row.method} {url}: expected {expected}, got {got}"
    allowed = ('"django_session"', *(f'"{table}"' for table in row.may_write))
    if got in DENIED:
        writes = _writes(queries.captured_queries, allowed=allowed)
    elif got in (400, 409):
        # A form shown again with its errors may log the PHI it shows, and nothing else.
        writes = _writes(queries.captured_queries, allowed=(*allowed, '"core_phiaccess"'))
    else:
        writes = []
    if writes:
        return f"{who} {row.method} {url} answered {got} but wrote: {writes}"
    return None


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached dashboard figures from other tests must not decide a cell."""
    from django.core.cache import cache

    cache.clear()


@pytest.mark.parametrize("name", sorted({row.name for row in ROWS}))
def test_access_matrix(
    request,
    access_world,  # noqa: F811
    auditor,
    admin_user,
    name,
):
    client, problems = Client(), []
    for row in (row for row in ROWS if row.name == name):
        for persona, expected in zip(PERSONAS, row.expected, strict=True):
            problems.append(_check(request, client, access_world, row, persona, expected))
        admin = row.expected[PERSONAS.index(row.admin)] if row.admin in PERSONAS else row.admin
        problems.append(_check(request, client, access_world, row, "admin", admin))
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)
