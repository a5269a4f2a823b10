"""Bank reconciliation of the holding account: import the bank's statement (CSV), match its
lines to posted deposits, and show what does not agree; the month-end close report.

The statement is a CSV with a header row naming the columns `date, amount, reference,
description` (any order, any case; other columns are ignored). Dates are `YYYY-MM-DD` or
`MM/DD/YYYY`; amounts like `1234.56`, `1,234.56`, `$1,234.56`, `-50.00` or `(50.00)`; a negative
amount is a withdrawal. A file is imported whole or not at all: any bad row refuses it, with
every problem listed by line number. The same file (same SHA-256) is refused the second time.

Matching, for each deposit line (amount > 0) against posted deposits that are not reversed and
not matched by an earlier statement line:
1. exact amount and the same reference (normalized: letters and digits only, upper case, a
   leading CHECK/CHK/CK/EFT/ACH/WIRE/TRACE/REF/NO word and leading zeros dropped) → matched;
2. the same reference but another amount → variance (the bank's amount minus the deposit's);
3. no deposit with that reference: the same amount received within ±3 days → matched when
   exactly one deposit fits and no other line claims it;
4. anything else → unmatched.
Withdrawals (negative lines) are ignored: nothing posts payouts through the holding account yet.
"""

import csv
import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from recovery.core.models import Role, User
from recovery.money import MAX_DIGITS, ZERO, to_money

from .models import BankLine, BankStatement, Deposit

MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 50_000
ALLOWED_EXTENSIONS = (".csv", ".txt")
COLUMNS = ("date", "amount", "reference", "description")
DATE_WINDOW = timedelta(days=3)
# Deposits considered for a statement: received up to this long before its first line.
LOOKBACK = timedelta(days=60)
MAX_REPORTED_ERRORS = 50

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_PREFIX = re.compile(r"^(CHECK|CHK|CK|EFT|ACH|WIRE|TRACE|REF|NO|NUMBER|NBR)+")
_AMOUNT = re.compile(r"^\(?-?\$?-?[0-9][0-9,]*(\.[0-9]{1,2})?\)?$")


def normalize_reference(value: str) -> str:
    text = _NOT_ALNUM.sub("", (value or "").upper())
    stripped = _PREFIX.sub("", text)
    # "CHECK" alone or "NO" alone is not a reference; keep the digits-only remainder.
    text = stripped or text
    return text.lstrip("0") or ("0" if text else "")


def parse_amount(value: str) -> Decimal:
    text = (value or "").strip().replace(" ", "")
    if not _AMOUNT.match(text):
        raise ValueError(f"not an amount: {value!r}")
    negative = text.startswith("(") or "-" in text
    digits = text.strip("()").replace("-", "").replace("$", "").replace(",", "")
    try:
        amount = to_money(digits)
    except ValueError as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if len(digits.split(".")[0]) > MAX_DIGITS - 2:
        raise ValueError(f"amount too large: {value!r}")
    return -amount if negative else amount


def parse_date(value: str) -> date:
    text = (value or "").strip()
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a calendar day)
        except ValueError:
            continue
    raise ValueError(f"not a date (YYYY-MM-DD or MM/DD/YYYY): {value!r}")


@dataclass
class ParsedLine:
    line_number: int
    posted_on: date
    amount: Decimal
    reference: str
    description: str


@dataclass
class Parsed:
    lines: list[ParsedLine] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _decode(content: bytes) -> str:
    if b"\x00" in content:
        raise ValidationError({"file": "This is not a text file (CSV)."})
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": "The file is not UTF-8 or Windows-1252 text."}) from exc


def parse_statement(content: bytes) -> Parsed:
    """Every line of the CSV, or every problem with it (line numbers are the file's own)."""
    reader = csv.reader(io.StringIO(_decode(content), newline=""))
    result = Parsed()
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ValidationError({"file": "The file is empty."}) from exc
    except csv.Error as exc:
        raise ValidationError({"file": f"Line 1: {exc}"}) from exc
    names = [name.strip().lower() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise ValidationError(
            {
                "file": f"Line 1 must name the columns {', '.join(COLUMNS)}; "
                f"missing: {', '.join(missing)}."
            }
        )
    position = {column: names.index(column) for column in COLUMNS}
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(result.lines) >= MAX_LINES:
                raise ValidationError({"file": f"A statement holds at most {MAX_LINES:,} lines."})
            if len(row) < len(names):
                result.errors.append(f"Line {number}: {len(row)} columns, expected {len(names)}.")
                continue
            problems = []
            try:
                posted_on = parse_date(row[position["date"]])
            except ValueError as exc:
                problems.append(str(exc))
            try:
                amount = parse_amount(row[position["amount"]])
            except ValueError as exc:
                problems.append(str(exc))
            reference = row[position["reference"]].strip()
            description = row[position["description"]].strip()
            if len(reference) > 100:
                problems.append("reference longer than 100 characters")
            if len(description) > 300:
                problems.append("description longer than 300 characters")
            if problems:
                result.errors.append(f"Line {number}: {'; '.join(problems)}.")
                continue
            result.lines.append(ParsedLine(number, posted_on, amount, reference, description))
    except csv.Error as exc:
        result.errors.append(f"Line {reader.line_num}: {exc}.")
    if not result.lines and not result.errors:
        raise ValidationError({"file": "The statement has no lines."})
    return result


# ---------------------------------------------------------------------------------------------
# Import and matching
# ---------------------------------------------------------------------------------------------


def _ensure_reconciler(user: User) -> None:
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise PermissionDenied("Only a supervisor imports bank statements.")


def check_upload(name: str, size: int) -> None:
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ValidationError({"file": "Upload the bank statement as a .csv file."})
    if size > MAX_BYTES:
        raise ValidationError({"file": f"A statement is at most {MAX_BYTES // (1024 * 1024)} MB."})
    if size == 0:
        raise ValidationError({"file": "The file is empty."})


def import_statement(*, filename: str, content: bytes, imported_by: User) -> BankStatement:
    """Store the statement's lines and match them; all or nothing."""
    _ensure_reconciler(imported_by)
    check_upload(filename, len(content))
    digest = hashlib.sha256(content).hexdigest()
    earlier = BankStatement.objects.filter(sha256=digest).first()
    if earlier is not None:
        raise ValidationError({"file": _duplicate_message(earlier)})
    parsed = parse_statement(content)
    if parsed.errors:
        shown = parsed.errors[:MAX_REPORTED_ERRORS]
        more = len(parsed.errors) - len(shown)
        raise ValidationError(
            {"file": shown + ([f"… and {more} more lines with problems."] if more else [])}
        )
    try:
        with transaction.atomic():
            statement = BankStatement.objects.create(
                filename=filename[:255],
                sha256=digest,
                period_start=min(line.posted_on for line in parsed.lines),
                period_end=max(line.posted_on for line in parsed.lines),
                imported_by=imported_by,
            )
            BankLine.objects.bulk_create(
                [
                    BankLine(
                        statement=statement,
                        line_number=line.line_number,
                        posted_on=line.posted_on,
                        amount=line.amount,
                        reference=line.reference,
                        description=line.description,
                        match=BankLine.Match.IGNORED
                        if line.amount <= ZERO
                        else BankLine.Match.UNMATCHED,
                    )
                    for line in parsed.lines
                ]
            )
            match_statement(statement)
    except IntegrityError as exc:
        # The same file, imported by someone else a moment ago.
        earlier = BankStatement.objects.filter(sha256=digest).first()
        if earlier is None:
            raise
        raise ValidationError({"file": _duplicate_message(earlier)}) from exc
    return statement


def _duplicate_message(earlier: BankStatement) -> str:
    when = timezone.localtime(earlier.imported_at).strftime("%Y-%m-%d %H:%M")
    return (
        f"This statement was already imported ({earlier.filename}, {when}, "
        f"statement #{earlier.pk})."
    )


def _candidates(statement: BankStatement) -> list[Deposit]:
    return list(
        Deposit.objects.filter(
            reversed_at__isnull=True,
            bank_line__isnull=True,
            received_on__gte=statement.period_start - LOOKBACK,
            received_on__lte=statement.period_end + DATE_WINDOW,
        ).order_by("received_on", "id")
    )


@transaction.atomic
def match_statement(statement: BankStatement) -> dict[str, int]:
    """Match the statement's unmatched deposit lines (see the module's rules)."""
    lines = list(
        statement.lines.select_for_update()
        .filter(match=BankLine.Match.UNMATCHED, amount__gt=0)
        .order_by("line_number")
    )
    deposits = _candidates(statement)
    by_reference: dict[str, list[Deposit]] = defaultdict(list)
    for deposit in deposits:
        key = normalize_reference(deposit.reference)
        if key:
            by_reference[key].append(deposit)
    taken: set[int] = set()
    matched: list[BankLine] = []

    def nearest(line: BankLine, options: list[Deposit]) -> Deposit | None:
        free = [d for d in options if d.pk not in taken]
        if not free:
            return None
        return min(free, key=lambda d: (abs((d.received_on - line.posted_on).days), d.pk))

    def claim(line: BankLine, deposit: Deposit, kind: str) -> None:
        taken.add(deposit.pk)
        line.deposit = deposit
        line.match = kind
        line.variance = line.amount - deposit.amount
        matched.append(line)

    # 1. Same reference, same amount.
    rest = []
    for line in lines:
        key = normalize_reference(line.reference)
        same = [d for d in by_reference.get(key, []) if d.amount == line.amount] if key else []
        deposit = nearest(line, same)
        if deposit is not None:
            claim(line, deposit, BankLine.Match.MATCHED)
        else:
            rest.append(line)
    # 2. Same reference, another amount: a variance to look into.
    unreferenced = []
    for line in rest:
        key = normalize_reference(line.reference)
        deposit = nearest(line, by_reference.get(key, [])) if key else None
        if deposit is not None:
            claim(line, deposit, BankLine.Match.VARIANCE)
        elif key and by_reference.get(key):
            continue  # its reference is a deposit's, already matched to another line
        else:
            unreferenced.append(line)
    # 3. Amount and date, only when it is unambiguous both ways.
    fits: dict[int, list[Deposit]] = {}
    claims: dict[int, int] = defaultdict(int)
    for line in unreferenced:
        fits[line.pk] = [
            d
            for d in deposits
            if d.pk not in taken
            and d.amount == line.amount
            and abs(d.received_on - line.posted_on) <= DATE_WINDOW
        ]
        for deposit in fits[line.pk]:
            claims[deposit.pk] += 1
    for line in unreferenced:
        options = fits[line.pk]
        if len(options) == 1 and claims[options[0].pk] == 1:
            claim(line, options[0], BankLine.Match.MATCHED)
    BankLine.objects.bulk_update(matched, ["deposit", "match", "variance"])
    return {
        "matched": sum(1 for line in matched if line.match == BankLine.Match.MATCHED),
        "variance": sum(1 for line in matched if line.match == BankLine.Match.VARIANCE),
        "unmatched": len(lines) - len(matched),
    }


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


def statements() -> QuerySet[BankStatement]:
    return (
        BankStatement.objects.select_related("imported_by")
        .annotate(
            line_count=Count("lines"),
            matched=Count("lines", filter=Q(lines__match=BankLine.Match.MATCHED)),
            variances=Count("lines", filter=Q(lines__match=BankLine.Match.VARIANCE)),
            unmatched=Count("lines", filter=Q(lines__match=BankLine.Match.UNMATCHED)),
            deposits_total=Sum("lines__amount", filter=Q(lines__amount__gt=0), default=ZERO),
        )
        .order_by("-imported_at", "-id")
    )


def statement_lines(statement: BankStatement, match: str) -> QuerySet[BankLine]:
    return (
        statement.lines.filter(match=match)
        .select_related("deposit", "deposit__case")
        .order_by("line_number")
    )


def deposits_not_on_statement(statement: BankStatement) -> QuerySet[Deposit]:
    """Posted deposits received in the statement's period that no bank line matches."""
    return (
        Deposit.objects.filter(
            reversed_at__isnull=True,
            bank_line__isnull=True,
            received_on__range=(statement.period_start, statement.period_end),
        )
        .select_related("case")
        .order_by("received_on", "id")
    )


@dataclass
class MonthEnd:
    month: date
    first: date
    last: date
    posted_count: int
    posted_total: Decimal
    reversed_total: Decimal
    bank_count: int
    bank_total: Decimal
    unmatched_lines: list[BankLine]
    variance_lines: list[BankLine]
    unreconciled_deposits: list[Deposit]

    @property
    def difference(self) -> Decimal:
        return self.bank_total - self.posted_total

    @property
    def variance_total(self) -> Decimal:
        return sum((line.variance for line in self.variance_lines), ZERO)

    @property
    def reconciled(self) -> bool:
        return (
            self.difference == ZERO
            and not self.unmatched_lines
            and not self.variance_lines
            and not self.unreconciled_deposits
        )


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def month_end(month: date, *, limit: int = 500) -> MonthEnd:
    """Deposits posted in the month against the bank's deposit lines dated in it, and every
    item that keeps the month from reconciling (each list at most `limit` rows)."""
    first, last = month_bounds(month)
    posted = Deposit.objects.filter(transaction__posted_on__range=(first, last)).aggregate(
        count=Count("id", filter=Q(reversed_at__isnull=True)),
        total=Sum("amount", filter=Q(reversed_at__isnull=True), default=ZERO),
        reversed=Sum("amount", filter=Q(reversed_at__isnull=False), default=ZERO),
    )
    bank_lines = BankLine.objects.filter(posted_on__range=(first, last), amount__gt=0)
    bank = bank_lines.aggregate(count=Count("id"), total=Sum("amount", default=ZERO))
    related = ("deposit", "deposit__case", "statement")
    return MonthEnd(
        month=first,
        first=first,
        last=last,
        posted_count=posted["count"],
        posted_total=posted["total"],
        reversed_total=posted["reversed"],
        bank_count=bank["count"],
        bank_total=bank["total"],
        unmatched_lines=list(
            bank_lines.filter(match=BankLine.Match.UNMATCHED)
            .select_related(*related)
            .order_by("posted_on", "id")[:limit]
        ),
        variance_lines=list(
            bank_lines.filter(match=BankLine.Match.VARIANCE)
            .select_related(*related)
            .order_by("posted_on", "id")[:limit]
        ),
        unreconciled_deposits=list(
            Deposit.objects.filter(
                transaction__posted_on__range=(first, last),
                reversed_at__isnull=True,
                bank_line__isnull=True,
            )
            .select_related("case")
            .order_by("received_on", "id")[:limit]
        ),
    )


def month_end_rows(report: MonthEnd):
    """The month-end report as CSV rows: the summary, then each unreconciled item."""
    yield ["summary", "deposits posted", report.first.isoformat(), report.posted_total, "", "", ""]
    yield ["summary", "bank deposits", report.last.isoformat(), report.bank_total, "", "", ""]
    yield ["summary", "difference (bank - posted)", "", report.difference, "", "", ""]
    for line in report.unmatched_lines:
        yield [
            "unmatched bank line",
            line.description,
            line.posted_on.isoformat(),
            line.amount,
            line.reference,
            "",
            f"statement {line.statement_id} line {line.line_number}",
        ]
    for line in report.variance_lines:
        yield [
            "variance",
            line.description,
            line.posted_on.isoformat(),
            line.amount,
            line.reference,
            line.deposit.case.number if line.deposit else "",
            f"variance {line.variance}",
        ]
    for deposit in report.unreconciled_deposits:
        yield [
            "deposit not on a statement",
            deposit.payer,
            deposit.received_on.isoformat(),
            deposit.amount,
            deposit.reference,
            deposit.case.number,
            f"deposit {deposit.pk}",
        ]


MONTH_END_HEADER = ["item", "description", "date", "amount", "reference", "case_number", "note"]


def parse_month(value: str | None) -> date:
    try:
        return datetime.strptime(value or "", "%Y-%m").date()  # noqa: DTZ007
    except ValueError:
        today = timezone.localdate()
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
