"""The case audit package: one ZIP for an external auditor, built only from stored rows and files.

Contents (paths inside the ZIP):

- ``documents/`` every letter and upload of the case exactly as stored, each checked against the
  SHA-256 recorded when it was stored, and ``documents/index.csv`` listing them all (including
  letters that never rendered);
- ``history/history.pdf`` and ``history/history.csv``: every history row of the case and of what
  hangs off it — member, parties, claim decisions, liens and their changes, settlements,
  negotiation, installments, adjustments, activities, tasks, documents, disbursements — plus the
  rows that are never edited and so carry their own who/when (deposits, ledger transactions,
  assignments): who, when, what changed, oldest first;
- ``calculations/``: each settlement's figures and its formula steps as stored, as JSON, and all
  steps in one CSV;
- ``ledger/``: the case's ledger entries, deposits and disbursements as CSV;
- ``manifest.csv`` and ``manifest.json``: every file with its SHA-256 and size; the JSON adds when
  and by whom the package was generated.

Everything but the manifests depends on stored data alone (dates are the records' own, the ZIP
entries are stamped with the latest recorded change), so two downloads of an unchanged case hold
the same files byte for byte. The ZIP is streamed: documents are copied from storage in chunks
and never held whole in memory; only the generated reports are built in memory.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from cases.models import (
    Assignment,
    Case,
    CaseClaim,
    ClaimLine,
    Document,
    EligibilitySpan,
    Jurisdiction,
    Member,
    Party,
)
from ledger.models import Account, Deposit, Disbursement, Entry
from liens.models import Lien, LienChange
from recovery.core.models import Team, User
from recovery.core.pdf import render_pdf
from settlements.models import (
    BalanceAdjustment,
    Installment,
    NegotiationEntry,
    PaymentArrangement,
    Settlement,
)

from .forms import person
from .views import csv_safe

GENERATOR = "Recovery case audit package (format 1)"
CHUNK = 64 * 1024
# Related rows worth naming in the history (fetched with the history rows, no extra query);
# anything else is shown as "<kind> #id".
NAMED_MODELS = (User, Party, Jurisdiction, Team, ClaimLine, Account)
# Never printed: keyed hashes (they identify a person as well as the value does), the stored
# calculation (it is in calculations/) and a letter's rendering context.
NOT_SHOWN = {"id", "program_id_hash", "ssn_hash", "calculation", "context", "password"}
MASKED = {"program_id", "ssn"}


@dataclass
class AuditEntry:
    at: datetime
    user: str
    role: str
    kind: str
    object_id: int | None
    label: str
    action: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class PackageFile:
    path: str
    description: str
    content: bytes | None = None
    document: Document | None = None

    @property
    def compress(self) -> bool:
        return self.document is None


@dataclass
class Package:
    case: Case
    filename: str
    generated_at: datetime
    generated_by: User
    complete_through: datetime
    files: list[PackageFile]
    missing: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


def _sources(case: Case) -> list[tuple[str, object, Callable]]:
    """(kind, historical rows, label of a row): the History tab's sources, then the rest."""
    from cases.views import _history_sources

    sources = [(kind, rows, label) for kind, rows, label, _first in _history_sources(case)]
    pk = case.pk
    lien_ids = Lien.history.filter(case_id=pk).values("id")
    settlement_ids = Settlement.history.filter(case_id=pk).values("id")
    arrangement_ids = PaymentArrangement.history.filter(settlement_id__in=settlement_ids).values(
        "id"
    )
    sources += [
        (
            "Member",
            Member.history.filter(id=case.member_id),
            lambda r: f"{r.first_name} {r.last_name}".strip(),
        ),
        (
            "Eligibility",
            EligibilitySpan.history.filter(member_id=case.member_id),
            lambda r: f"{r.program} from {r.start:%Y-%m-%d}",
        ),
        ("Lien", Lien.history.filter(case_id=pk), lambda r: f"lien #{r.id}"),
        (
            "Lien change",
            LienChange.history.filter(lien_id__in=lien_ids),
            lambda r: f"{r.get_kind_display().lower()} #{r.id} of lien #{r.lien_id}",
        ),
        ("Settlement", Settlement.history.filter(case_id=pk), lambda r: f"settlement #{r.id}"),
        (
            "Negotiation",
            NegotiationEntry.history.filter(case_id=pk),
            lambda r: f"{r.get_kind_display().lower()} of {r.occurred_on:%Y-%m-%d}",
        ),
        (
            "Payment arrangement",
            PaymentArrangement.history.filter(settlement_id__in=settlement_ids),
            lambda r: f"arrangement #{r.id} of settlement #{r.settlement_id}",
        ),
        (
            "Installment",
            Installment.history.filter(arrangement_id__in=arrangement_ids),
            lambda r: f"installment {r.number} of arrangement #{r.arrangement_id}",
        ),
        (
            "Balance adjustment",
            BalanceAdjustment.history.filter(case_id=pk),
            lambda r: f"{r.get_kind_display().lower()} #{r.id}",
        ),
        (
            "Disbursement",
            Disbursement.history.filter(case_id=pk),
            lambda r: f"disbursement #{r.id} to {r.payee}",
        ),
    ]
    return sources


def _named_relations(history_model) -> list[str]:
    return [
        f.name
        for f in history_model._meta.fields
        if f.is_relation and f.related_model in NAMED_MODELS
    ]


def _related_name(obj) -> str:
    if isinstance(obj, User):
        return person(obj)
    if isinstance(obj, Jurisdiction):
        return obj.code
    if isinstance(obj, ClaimLine):
        return f"{obj.claim_number}-{obj.line_number}"
    if isinstance(obj, Account):
        return f"{obj.code} {obj.name}"
    return str(obj)


def _value(model, name: str, value, names: dict) -> str:
    """One stored value in words, in full (the CSV and the PDF print the whole text)."""
    if value is None or value == "":
        return ""
    model_field = model._meta.get_field(name)
    if model_field.is_relation:
        related = model_field.related_model
        return names.get((related, value)) or f"{related._meta.verbose_name} #{value}"
    if name in MASKED:
        return "•••" + str(value)[-4:]
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _label(model, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def _shown(record) -> list[str]:
    return [f.name for f in record.tracked_fields if f.editable and f.name not in NOT_SHOWN]


def history_entries(case: Case) -> list[AuditEntry]:
    """Every history row of the case and of its related records, oldest first, each with every
    field it changed (a creation lists what it held). One query per kind of record."""
    names: dict[tuple[type, int], str] = {
        (Case, case.pk): case.number,
        (Member, case.member_id): case.member.full_name,
    }
    raw = []
    for kind, rows, label in _sources(case):
        relations = _named_relations(rows.model)
        rows = rows.select_related("history_user", *relations).order_by(
            "history_date", "history_id"
        )
        previous: dict[int, object] = {}
        for record in rows:
            for name in relations:
                related = getattr(record, name)
                if related is not None:
                    names[(type(related), related.pk)] = _related_name(related)
            raw.append((kind, record, previous.get(record.id), label(record)))
            previous[record.id] = record

    entries = []
    for kind, record, before, label in raw:
        model = record.instance_type
        shown = _shown(record)
        changes = []
        if record.history_type == "-":
            action = "Deleted"
        elif before is not None and record.history_type == "~":
            action = "Changed"
            delta = record.diff_against(before, included_fields=shown)
            for change in delta.changes:
                changes.append(
                    (
                        _label(model, change.field),
                        _value(model, change.field, change.old, names),
                        _value(model, change.field, change.new, names),
                    )
                )
        else:
            action = "Created" if record.history_type == "+" else "Recorded"
            for name in shown:
                attname = model._meta.get_field(name).attname
                text = _value(model, name, getattr(record, attname), names)
                if text:
                    changes.append((_label(model, name), "", text))
        if record.history_change_reason:
            changes.append(("Reason for the change", "", record.history_change_reason))
        user = record.history_user
        entries.append(
            AuditEntry(
                at=record.history_date,
                user=person(user) or "System",
                role=user.get_role_display() if user else "",
                kind=kind,
                object_id=record.id,
                label=label,
                action=action,
                changes=changes,
            )
        )
    return entries


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else str(amount)


def _ledger_entries(case: Case) -> list[Entry]:
    return list(
        Entry.objects.filter(Q(transaction__case=case) | Q(case=case))
        .select_related("transaction__posted_by", "transaction__reverses", "account")
        .order_by("transaction__posted_at", "transaction_id", "id")
    )


def _unedited_rows(case: Case, entries: list[Entry]) -> list[AuditEntry]:
    """Rows that are written once and never edited, so they have no history rows of their own:
    deposits (and their reversal), ledger transactions, assignments, and claim decisions made
    in bulk by screening."""
    rows = []
    for deposit in Deposit.objects.filter(case=case).select_related(
        "recorded_by", "transaction__reversed_by__posted_by"
    ):
        rows.append(
            AuditEntry(
                at=deposit.recorded_at,
                user=person(deposit.recorded_by),
                role=deposit.recorded_by.get_role_display(),
                kind="Deposit",
                object_id=deposit.pk,
                label=f"deposit #{deposit.pk} ({deposit.reference})",
                action="Recorded",
                changes=[
                    ("Amount", "", str(deposit.amount)),
                    ("Received on", "", deposit.received_on.isoformat()),
                    ("Payer", "", deposit.payer),
                    ("Instrument", "", deposit.get_instrument_display()),
                    ("Reference", "", deposit.reference),
                    (
                        "Settlement",
                        "",
                        f"settlement #{deposit.settlement_id}" if deposit.settlement_id else "",
                    ),
                    ("Transaction", "", f"#{deposit.transaction_id}"),
                ],
            )
        )
        if deposit.reversed_at is not None:
            reversal = getattr(deposit.transaction, "reversed_by", None)
            by = reversal.posted_by if reversal is not None else None
            rows.append(
                AuditEntry(
                    at=deposit.reversed_at,
                    user=person(by) or "System",
                    role=by.get_role_display() if by else "",
                    kind="Deposit",
                    object_id=deposit.pk,
                    label=f"deposit #{deposit.pk} ({deposit.reference})",
                    action="Reversed",
                    changes=[
                        ("Reversed by transaction", "", f"#{reversal.pk}" if reversal else "")
                    ],
                )
            )
    transactions: dict[int, AuditEntry] = {}
    for entry in entries:
        txn = entry.transaction
        if txn.pk not in transactions:
            transactions[txn.pk] = AuditEntry(
                at=txn.posted_at,
                user=person(txn.posted_by),
                role=txn.posted_by.get_role_display(),
                kind="Ledger transaction",
                object_id=txn.pk,
                label=f"transaction #{txn.pk} ({txn.get_kind_display().lower()})",
                action="Posted",
                changes=[
                    ("Posted on", "", txn.posted_on.isoformat()),
                    ("Memo", "", txn.memo),
                    *([("Reverses", "", f"#{txn.reverses_id}")] if txn.reverses_id else []),
                ],
            )
        side = "Debit" if entry.amount > 0 else "Credit"
        transactions[txn.pk].changes.append(
            (f"{side} {entry.account.code} {entry.account.name}", "", str(abs(entry.amount)))
        )
    rows.extend(transactions.values())
    # Screening attaches claim lines in bulk, without history rows: their decisions as stored.
    silent = (
        CaseClaim.objects.filter(case=case)
        .exclude(pk__in=CaseClaim.history.filter(case_id=case.pk).values("id"))
        .select_related("claim_line", "decided_by")
    )
    for decision in silent:
        line = decision.claim_line
        rows.append(
            AuditEntry(
                at=decision.decided_at,
                user=person(decision.decided_by) or "System",
                role=decision.decided_by.get_role_display() if decision.decided_by else "",
                kind="Claim line",
                object_id=decision.pk,
                label=f"{line.claim_number}-{line.line_number}",
                action="Recorded",
                changes=[
                    ("Included", "", "Yes" if decision.included else "No"),
                    ("Basis", "", decision.get_basis_display()),
                    ("Reason", "", decision.reason),
                    ("Paid amount", "", str(line.paid_amount)),
                    *([("Needs review", "", "Yes")] if decision.needs_review else []),
                    *([("Late-arriving", "", "Yes")] if decision.late_arriving else []),
                ],
            )
        )
    for assignment in Assignment.objects.filter(case=case).select_related(
        "assigned_to", "assigned_by"
    ):
        by = assignment.assigned_by
        rows.append(
            AuditEntry(
                at=assignment.at,
                user=person(by) or "System",
                role=by.get_role_display() if by else "",
                kind="Assignment",
                object_id=assignment.pk,
                label=assignment.get_action_display().lower(),
                action="Recorded",
                changes=[
                    ("Assigned to", "", person(assignment.assigned_to)),
                    *([("Note", "", assignment.note)] if assignment.note else []),
                ],
            )
        )
    return rows


HISTORY_HEADER = [
    "at",
    "user",
    "role",
    "record",
    "record_id",
    "label",
    "action",
    "field",
    "old_value",
    "new_value",
]


def history_csv(entries: list[AuditEntry]) -> bytes:
    rows = []
    for entry in entries:
        at = timezone.localtime(entry.at).isoformat(timespec="seconds")
        head = [at, entry.user, entry.role, entry.kind, entry.object_id, entry.label, entry.action]
        if not entry.changes:
            rows.append([*head, "", "", ""])
        for name, old, new in entry.changes:
            rows.append([*head, name, old, new])
    return _csv_bytes(HISTORY_HEADER, rows)


# ---------------------------------------------------------------------------------------------
# CSV files
# ---------------------------------------------------------------------------------------------


def _cell(value) -> str:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return csv_safe(value)


def _csv_bytes(header: list[str], rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


def _at(moment: datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def entries_csv(entries: list[Entry]) -> bytes:
    return _csv_bytes(
        [
            "posted_on",
            "posted_at",
            "transaction_id",
            "kind",
            "account",
            "account_name",
            "debit",
            "credit",
            "memo",
            "posted_by",
            "reverses_transaction",
            "entry_id",
        ],
        (
            [
                e.transaction.posted_on.isoformat(),
                _at(e.transaction.posted_at),
                e.transaction_id,
                e.transaction.kind,
                e.account.code,
                e.account.name,
                e.amount if e.amount > 0 else "",
                -e.amount if e.amount < 0 else "",
                e.transaction.memo,
                e.transaction.posted_by.username,
                e.transaction.reverses_id or "",
                e.pk,
            ]
            for e in entries
        ),
    )


def deposits_csv(case: Case) -> bytes:
    deposits = (
        Deposit.objects.filter(case=case)
        .select_related("recorded_by")
        .order_by("received_on", "pk")
    )
    return _csv_bytes(
        [
            "deposit_id",
            "received_on",
            "amount",
            "payer",
            "instrument",
            "reference",
            "settlement_id",
            "transaction_id",
            "recorded_by",
            "recorded_at",
            "reversed_at",
        ],
        (
            [
                d.pk,
                d.received_on.isoformat(),
                d.amount,
                d.payer,
                d.instrument,
                d.reference,
                d.settlement_id or "",
                d.transaction_id,
                d.recorded_by.username,
                _at(d.recorded_at),
                _at(d.reversed_at),
            ]
            for d in deposits
        ),
    )


def disbursements_csv(case: Case) -> bytes:
    disbursements = (
        Disbursement.objects.filter(case=case)
        .select_related("requested_by", "decided_by")
        .order_by("requested_at", "pk")
    )
    return _csv_bytes(
        [
            "disbursement_id",
            "requested_at",
            "purpose",
            "payee",
            "amount",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "state_share",
            "federal_share",
            "transaction_id",
            "reversed_at",
            "note",
            "decision_note",
        ],
        (
            [
                d.pk,
                _at(d.requested_at),
                d.purpose,
                d.payee,
                d.amount,
                d.status,
                d.requested_by.username,
                d.decided_by.username if d.decided_by else "",
                _at(d.decided_at),
                _money(d.state_share),
                _money(d.federal_share),
                d.transaction_id or "",
                _at(d.reversed_at),
                d.note,
                d.decision_note,
            ]
            for d in disbursements
        ),
    )


def _settlement_json(s: Settlement) -> bytes:
    record = {
        "settlement_id": s.pk,
        "case": s.case.number,
        "status": s.status,
        "formula": s.formula,
        "gross_settlement": str(s.gross_settlement),
        "attorney_fees": str(s.attorney_fees),
        "costs": str(s.costs),
        "full_value": _money(s.full_value) or None,
        "allocation_ratio": str(s.allocation_ratio) if s.allocation_ratio is not None else None,
        "program_paid": str(s.program_paid),
        "computed_recovery": str(s.computed_recovery),
        "agreed_recovery": str(s.agreed_recovery),
        "reduction_amount": str(s.reduction_amount),
        "reduction_percent": str(s.reduction_percent),
        "within_authority": s.within_authority,
        "compromise_reason": s.compromise_reason,
        "justification": s.justification,
        "proposed_by": s.proposed_by.username,
        "proposed_at": _at(s.proposed_at),
        "decided_by": s.decided_by.username if s.decided_by else None,
        "decided_at": _at(s.decided_at) or None,
        "decision_note": s.decision_note,
        # The formula's steps exactly as they were stored when the settlement was proposed.
        "calculation": s.calculation,
    }
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def steps_csv(settlements: list[Settlement]) -> bytes:
    rows = []
    for s in settlements:
        calculation = s.calculation or {}
        for number, step in enumerate(calculation.get("steps") or [], start=1):
            rows.append(
                [
                    s.pk,
                    calculation.get("formula", s.formula),
                    number,
                    step.get("label", ""),
                    step.get("amount") or "",
                    step.get("ratio") or "",
                    step.get("formula", ""),
                    step.get("citation", ""),
                ]
            )
    return _csv_bytes(
        ["settlement_id", "formula", "step", "label", "amount", "ratio", "arithmetic", "citation"],
        rows,
    )


DOCUMENT_HEADER = [
    "document_id",
    "kind",
    "title",
    "status",
    "created_at",
    "uploaded_by",
    "recipient",
    "content_type",
    "size",
    "stored_sha256",
    "template_version",
    "file_in_package",
]


def _document_path(document: Document) -> str:
    # Never the uploaded name: it may carry PHI or path tricks.
    return f"documents/{document.pk:06d}-{document.kind}{document.extension or '.pdf'}"


# ---------------------------------------------------------------------------------------------
# Building and streaming
# ---------------------------------------------------------------------------------------------


def build(*, case: Case, generated_by: User, now: datetime | None = None) -> Package:
    """Read everything the package holds (a fixed number of queries) and render its reports;
    the documents themselves are read from storage only while the ZIP streams."""
    now = now or timezone.now()
    ledger_entries = _ledger_entries(case)
    entries = history_entries(case) + _unedited_rows(case, ledger_entries)
    entries.sort(key=lambda e: (e.at, e.kind, e.object_id or 0))
    complete_through = max((e.at for e in entries), default=case.opened_at)
    member = case.member
    history_pdf = render_pdf(
        "dashboard/reports/audit_history.html",
        {
            "case": case,
            "case_number": case.number,
            "member_name": member.full_name,
            "kind_label": "Case history",
            "letter_date": timezone.localtime(complete_through).date(),
            "references": [
                ("Our reference", case.number),
                ("Member", member.full_name),
                ("Program id", member.masked_program_id),
                ("Jurisdiction", f"{case.jurisdiction.name} ({case.jurisdiction.code})"),
                ("Complete through", _at(complete_through)),
                ("Entries", f"{len(entries):,}"),
            ],
            "entries": entries,
            "agency": _letterhead(),
        },
    ).content
    settlements = list(
        case.settlements.select_related("proposed_by", "decided_by", "case").order_by(
            "proposed_at", "pk"
        )
    )
    documents = list(
        Document.objects.filter(case=case)
        .select_related("uploaded_by", "recipient")
        .order_by("created_at", "pk")
    )
    files = [
        PackageFile("history/history.pdf", "Case history report (PDF)", history_pdf),
        PackageFile(
            "history/history.csv", "Case history, one row per field changed", history_csv(entries)
        ),
    ]
    files += [
        PackageFile(
            f"calculations/settlement-{s.pk:06d}.json",
            f"Settlement #{s.pk}: figures and formula steps as stored",
            _settlement_json(s),
        )
        for s in settlements
    ]
    files += [
        PackageFile(
            "calculations/steps.csv", "Every settlement's formula steps", steps_csv(settlements)
        ),
        PackageFile(
            "ledger/entries.csv", "Ledger entries of the case", entries_csv(ledger_entries)
        ),
        PackageFile("ledger/deposits.csv", "Deposits of the case", deposits_csv(case)),
        PackageFile(
            "ledger/disbursements.csv", "Disbursements of the case", disbursements_csv(case)
        ),
    ]
    index_rows, document_files = [], []
    for document in documents:
        stored = document.status == Document.Status.READY and bool(document.file)
        path = _document_path(document) if stored else ""
        index_rows.append(
            [
                document.pk,
                document.kind,
                document.title,
                document.status,
                _at(document.created_at),
                document.uploaded_by.username if document.uploaded_by else "",
                document.recipient.name if document.recipient else "",
                document.content_type,
                document.size,
                document.sha256,
                document.template_version,
                path,
            ]
        )
        if stored:
            label = "Generated letter" if document.is_letter else "Uploaded document"
            document_files.append(
                PackageFile(
                    path,
                    f"{label} #{document.pk}: {document.get_kind_display()}",
                    document=document,
                )
            )
    files.append(
        PackageFile(
            "documents/index.csv",
            "Every document of the case, stored or not",
            _csv_bytes(DOCUMENT_HEADER, index_rows),
        )
    )
    files += document_files
    return Package(
        case=case,
        filename=f"audit-package-{case.number}.zip",
        generated_at=now,
        generated_by=generated_by,
        complete_through=complete_through,
        files=files,
    )


def _letterhead() -> dict:
    from liens.letters import letterhead

    return letterhead()


class _Sink:
    """Where the ZIP writer writes; what it wrote is handed on and forgotten (not seekable, so
    zipfile writes data descriptors and never goes back)."""

    def __init__(self):
        self.buffer = bytearray()

    def write(self, data) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _chunks(item: PackageFile) -> Iterator[bytes]:
    if item.document is None:
        yield item.content or b""
        return
    with item.document.file.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


MANIFEST_HEADER = [
    "path",
    "sha256",
    "bytes",
    "description",
    "stored_sha256",
    "stored_sha256_matches",
]


def stream(package: Package) -> Iterator[bytes]:
    """The ZIP, piece by piece: each file's SHA-256 is taken as it is written, and a stored
    document is compared with the checksum recorded when it was stored."""
    stamp = timezone.localtime(package.complete_through).timetuple()[:6]
    sink = _Sink()
    listed = []
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for item in package.files:
            source = _chunks(item)
            try:
                first = next(source, b"")
            except OSError:
                package.missing.append(item.path)
                continue
            info = zipfile.ZipInfo(item.path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED if item.compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            digest, size = hashlib.sha256(), 0
            with archive.open(info, "w", force_zip64=item.document is not None) as out:
                for chunk in _prepend(first, source):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                    if len(sink.buffer) >= CHUNK:
                        yield sink.take()
            stored = item.document.sha256 if item.document is not None else ""
            listed.append(
                {
                    "path": item.path,
                    "sha256": digest.hexdigest(),
                    "bytes": size,
                    "description": item.description,
                    "stored_sha256": stored,
                    "stored_sha256_matches": ("yes" if stored == digest.hexdigest() else "no")
                    if item.document is not None
                    else "",
                }
            )
            yield sink.take()
        manifest_csv = _csv_bytes(
            MANIFEST_HEADER, ([row[key] for key in MANIFEST_HEADER] for row in listed)
        )
        manifest = {
            "generator": GENERATOR,
            "generated_at": _at(package.generated_at),
            "generated_by": {
                "username": package.generated_by.username,
                "name": person(package.generated_by),
                "role": package.generated_by.role,
            },
            "case": {
                "id": package.case.pk,
                "number": package.case.number,
                "jurisdiction": package.case.jurisdiction.code,
            },
            "complete_through": _at(package.complete_through),
            "files": listed,
            "missing_from_storage": package.missing,
        }
        for name, content in (
            ("manifest.csv", manifest_csv),
            ("manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()),
        ):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    yield sink.take()


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
