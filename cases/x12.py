"""Read X12 5010 835 remittances and 837P/837I claims into flat claim lines.

pyx12 does the X12 work. Its X12Reader reads the ISA to learn the delimiters and returns
segments already split into elements and components. It also checks the envelope: SE/GE/IEA
counts, HL numbering, unknown segment ids. This module walks those segments with a small
state machine for each transaction type. Every service line becomes a ParsedClaimLine, or a
Reject that says which segment was wrong and why. The rest of the file is still read.

Conventions
- "segment N" is the 1-based position of a segment in the file, counting the ISA as 1. When a
  file has one segment per line (the usual layout), it is also the line number in an editor.
- Amounts are Decimal quantized to cents. Dates come from CCYYMMDD, and service dates may also
  be a CCYYMMDD-CCYYMMDD range (RD8).
- No Django and no database: callers decide what to store.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pyx12.errors
from pyx12.rawx12file import ISA_LEN
from pyx12.segment import Segment
from pyx12.x12file import X12Reader

__all__ = ["ParseResult", "ParsedClaimLine", "Reject", "detect_format", "parse_x12"]


# --------------------------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedClaimLine:
    source_line: int  # segment number where the service line starts (LX/SV1/SV2 or SVC; CLP)
    claim_number: str  # 835: CLP01 (patient control number) ; 837: CLM01
    payer_claim_number: str  # 835: CLP07 ; 837: REF*F8 of the claim, else ""
    line_number: int  # 1-based service line within the claim (837 LX01; 835 order of SVC)
    member_id: str
    member_last_name: str
    member_first_name: str
    member_dob: date | None
    provider_npi: str  # only an NM108/N103 "XX" identifier; "" when the file has no NPI
    provider_name: str
    service_from: date | None
    service_to: date | None
    procedure_code: str
    modifiers: tuple[str, ...]
    diagnosis_codes: tuple[str, ...]
    diagnosis_code_set: str  # "ICD10", "ICD9" or ""
    billed_amount: Decimal
    allowed_amount: Decimal | None
    paid_amount: Decimal | None
    paid_date: date | None
    accident_indicator: str
    accident_state: str
    accident_date: date | None
    occurrence_codes: tuple[str, ...]
    value_codes: tuple[str, ...]


@dataclass(frozen=True)
class Reject:
    line: int  # 1-based segment number in the file
    reason: str


@dataclass
class ParseResult:
    transaction: str  # "835" or "837"
    lines: list[ParsedClaimLine]
    rejects: list[Reject]
    warnings: list[str]


def detect_format(data: bytes) -> str:
    """Return "835", "837" or "csv" for an upload; raise ValueError saying why otherwise."""
    text = _decode(data, _Notes()).lstrip()
    if text.startswith("ISA"):
        return _first_transaction_type(_open_reader(text, _Notes()))
    if _looks_like_csv(text):
        return "csv"
    raise ValueError(
        "the file is neither X12 (it does not start with an ISA segment) nor CSV (its first "
        f"line is not a delimited header); it starts with {text[:30]!r}"
    )


def parse_x12(data: bytes) -> ParseResult:
    """Read an 835 or 837 interchange.

    Bad content never raises: it becomes a Reject (a service line that cannot be used) or a
    warning (a tolerated oddity). ValueError is raised only when the data is not X12 at all
    (no ISA), when the ISA cannot be read (so the delimiters are unknown), or when the
    transaction set is not 835 or 837.
    """
    notes = _Notes()
    text = _decode(data, notes).lstrip()
    if not text.startswith("ISA"):
        hint = " It looks like a CSV file." if _looks_like_csv(text) else ""
        raise ValueError(
            f"not an X12 file: it must start with an ISA segment but starts with {text[:30]!r}.{hint}"
        )
    reader = _open_reader(text, notes)
    return _Interchange(reader, notes).read()


# --------------------------------------------------------------------------------------------
# Small value helpers
# --------------------------------------------------------------------------------------------

CENT = Decimal("0.01")
# X12 "R" (decimal) values: optional minus sign, digits, optional decimal point. The regex also
# keeps out "NaN" and "Infinity", which Decimal() would accept.
_AMOUNT_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# A composite that pyx12 could not split because the sender used a component separator other
# than the one declared in ISA16, e.g. "HC>55669" when ISA16 is ":". It starts with a short
# qualifier followed by a punctuation character.
_STRAY_SEPARATOR_RE = re.compile(r"[A-Z0-9]{1,3}([^A-Za-z0-9 .\-])")

_DX_PRINCIPAL = {"ABK": "ICD10", "BK": "ICD9"}
# Other diagnoses, admitting diagnoses (ABJ/BJ), external causes of injury (ABN/BN: E/V/W/X/Y
# codes, which matter for liability), and reasons for the visit (APR/PR).
_DX_OTHER = {
    "ABF": "ICD10",
    "BF": "ICD9",
    "ABJ": "ICD10",
    "BJ": "ICD9",
    "ABN": "ICD10",
    "BN": "ICD9",
    "APR": "ICD10",
    "PR": "ICD9",
}


_BROKEN_OFF = "the transaction set breaks off inside this line (no SE), so it may be incomplete"


def _money(text: str) -> Decimal | None:
    if not _AMOUNT_RE.fullmatch(text):
        return None
    return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)


def _date(text: str) -> date | None:
    """CCYYMMDD, or None when the text is not a real calendar date."""
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:  # e.g. month 23 in "20002316"
        return None


def _period(text: str) -> tuple[date, date] | None:
    """D8 "CCYYMMDD" or RD8 "CCYYMMDD-CCYYMMDD" as (from, to); None when unusable.

    The DTP02 format qualifier is not checked: the value itself shows which form it has, and
    senders do mislabel one as the other."""
    start, dash, end = text.partition("-")
    first = _date(start)
    last = _date(end) if dash else first
    if first is None or last is None or last < first:
        return None
    return first, last


def _bad(name: str, raw: str, what: str) -> str:
    return f"{name} is empty" if not raw else f"{name} {raw!r} is not {what}"


def _el(seg: Segment, pos: int, sub: int = 1) -> str:
    """Element `pos` (1-based, as in "CLP01"), component `sub`; stripped, "" when absent.

    This reads pyx12's parsed elements directly. Segment.get_value("CLP01") would parse the
    reference designator again on every call, and that is slow on files of 100k+ segments."""
    elements = seg.elements
    if pos > len(elements):
        return ""
    composite = elements[pos - 1]
    if sub > len(composite):
        return ""
    return composite[sub - 1].value.strip()


def _raw(seg: Segment, pos: int) -> str:
    """Element `pos` as written, components and all (for messages)."""
    return seg.elements[pos - 1].format() if pos <= len(seg.elements) else ""


def _dedupe(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


class _Notes:
    """Warnings. A repeat of the same kind is folded into one line ("... and 41 more like it")
    so that a 100k-segment file does not produce a 100k-line list."""

    def __init__(self) -> None:
        self._items: list[list] = []  # [message, count]
        self._index: dict[object, int] = {}

    def add(self, message: str, key: object = None) -> None:
        if key is not None:
            if key in self._index:
                self._items[self._index[key]][1] += 1
                return
            self._index[key] = len(self._items)
        self._items.append([message, 1])

    def as_list(self) -> list[str]:
        return [m if n == 1 else f"{m} (and {n - 1} more like it)" for m, n in self._items]


# --------------------------------------------------------------------------------------------
# Getting a pyx12 reader for the bytes
# --------------------------------------------------------------------------------------------


def _decode(data: bytes, notes: _Notes) -> str:
    if not data or not data.strip():
        raise ValueError("the file is empty")
    if b"\x00" in data[:4096]:
        raise ValueError("the file is binary (it contains NUL bytes), not X12 or CSV")
    try:
        return data.decode("utf-8-sig")  # also drops a byte-order mark
    except UnicodeDecodeError:
        notes.add("the file is not valid UTF-8; it was read as Latin-1")
        return data.decode("latin-1")


def _strip_line_breaks(text: str) -> str:
    return text.replace("\r", "").replace("\n", "")


def _isa_terminator(text: str) -> str:
    """The segment terminator, as pyx12 reads it from the ISA; X12Error when the ISA is unusable.

    pyx12 takes the delimiters from fixed positions of the 106-character ISA. When the ISA is
    not fixed width (unpadded ISA06/ISA08...), pyx12 still "finds" delimiters, e.g. a letter of
    the next segment as terminator. It then fails only on the first segment, or never. So
    check that the ISA really has 16 elements with those delimiters."""
    reader = X12Reader(io.StringIO(text))
    term, ele = reader.seg_term or "", reader.ele_term or ""
    isa = text[:ISA_LEN]
    if term.isalnum() or term in (" ", ele) or ele.isalnum() or isa[:-1].count(ele) != 16:
        raise pyx12.errors.X12Error(
            f"the ISA is not the fixed 106 characters with 16 elements (it reads {isa!r})"
        )
    return term


def _open_reader(text: str, notes: _Notes) -> X12Reader:
    """An X12Reader over `text`. pyx12 learns the delimiters from the ISA.

    Two repairs are made to the text first, each with a warning:
    - Line breaks inside segments are removed, e.g. when a file was wrapped at 80 columns.
      When the terminator is not CR/LF, a line break is never X12 data, so this is safe.
      Without it, pyx12 would keep them inside element values (it strips only those right
      after a terminator). A break inside the fixed-width ISA would even stop pyx12 from
      finding the delimiters.
    - A final IEA without a terminator gets one. Many tools drop the last "~" or newline,
      and the IEA carries no claim data. Any other unterminated last segment is treated as a
      truncation (see _Interchange._segments).
    """
    try:
        term = _isa_terminator(text)
        # pyx12 accepted the 106 characters of the ISA as they are; a line break among them
        # stands in for a character, so those 106 are left alone below.
        isa_end = ISA_LEN
    except pyx12.errors.X12Error as exc:
        flat = _strip_line_breaks(text)
        try:
            # A line break inside the fixed-width ISA (a wrapped file) moves its delimiters out
            # of place: read it again without line breaks.
            term = _isa_terminator(flat) if flat != text else ""
        except pyx12.errors.X12Error:
            term = ""
        if not term:
            raise ValueError(
                f"the ISA segment cannot be read, so the delimiters are unknown: {exc}"
            ) from exc
        isa_end = 0
    if term not in "\r\n":
        inner_break = re.compile(f"[^{re.escape(term)}\r\n][\r\n]").search(text, isa_end)
        if inner_break is not None:
            segment = text.count(term, 0, inner_break.start()) + 1
            notes.add(
                f"line breaks inside segments were removed (the first one in segment {segment})"
            )
            text = text[:isa_end] + _strip_line_breaks(text[isa_end:])
    body = text.rstrip("\r\n\t ") if term not in "\r\n" else text.rstrip("\r\n")
    if not body.endswith(term):
        last = body[body.rfind(term) + 1 :].lstrip()
        if last.startswith("IEA"):
            notes.add(f"the final IEA segment has no segment terminator {term!r}; accepted")
            text = body + term
    try:
        return X12Reader(io.StringIO(text))
    except pyx12.errors.X12Error as exc:  # not expected after the checks above; stay a ValueError
        raise ValueError(f"the ISA segment cannot be read: {exc}") from exc


def _looks_like_csv(text: str) -> bool:
    head = text[:65536]
    first = next((line for line in head.splitlines() if line.strip()), "")
    if not first or not all(c.isprintable() or c == "\t" for c in first):
        return False
    for delimiter in (",", ";", "\t", "|"):
        fields = next(csv.reader([first], delimiter=delimiter))
        if len(fields) >= 2 and all(0 < len(f.strip()) <= 100 for f in fields):
            return True
    return False


_GS01_TYPES = {"HP": "835", "HC": "837"}  # functional identifier codes of GS01


def _damaged_st01(st01: str) -> bool:
    """Not even a transaction set identifier (three digits), e.g. "83" or "8:5". A real but
    different one, such as "270", is not read as an 835/837 whatever GS01 says."""
    return not (len(st01) == 3 and st01.isascii() and st01.isdigit())


def _transaction_type(st01: str, where: str) -> str:
    if st01 in ("835", "837"):
        return st01
    raise ValueError(
        f"X12 transaction set {st01!r} ({where}) is not supported: only 835 remittances and "
        "837 claims can be read"
    )


def _first_transaction_type(reader: X12Reader) -> str:
    """ST01 of the first transaction set. If there is no ST, GS01 decides (HP=835, HC=837)."""
    gs01 = ""
    try:
        for number, seg in enumerate(reader, start=1):
            seg_id = seg.get_seg_id()
            if seg_id == "GS" and not gs01:
                gs01 = _el(seg, 1)
            elif seg_id == "ST":
                st01 = _el(seg, 1)
                if _damaged_st01(st01) and gs01 in _GS01_TYPES:
                    return _GS01_TYPES[gs01]  # see _Interchange.read
                return _transaction_type(st01, f"ST at segment {number}")
    except (pyx12.errors.X12Error, IndexError):
        pass  # a damaged segment before the first ST: fall back on GS01 below
    if gs01 in _GS01_TYPES:
        return _GS01_TYPES[gs01]
    raise ValueError(
        "the X12 interchange contains no ST transaction set and its GS01 is "
        f"{gs01 or 'missing'}, so it is neither an 835 nor an 837"
    )


# --------------------------------------------------------------------------------------------
# Parties (NM1 / N1)
# --------------------------------------------------------------------------------------------


@dataclass
class _Party:
    segnum: int
    last: str = ""
    first: str = ""
    is_person: bool = False
    id_qualifier: str = ""
    ident: str = ""
    dob: date | None = None

    @classmethod
    def from_nm1(cls, seg: Segment, segnum: int) -> _Party:
        return cls(
            segnum=segnum,
            last=_el(seg, 3),
            first=_el(seg, 4),
            is_person=_el(seg, 2) == "1",
            id_qualifier=_el(seg, 8),
            ident=_el(seg, 9),
        )

    @classmethod
    def from_n1(cls, seg: Segment, segnum: int) -> _Party:
        return cls(segnum=segnum, last=_el(seg, 2), id_qualifier=_el(seg, 3), ident=_el(seg, 4))

    @property
    def npi(self) -> str:
        # Other qualifiers (FI tax id, BS/BD payer-assigned numbers, ...) are not NPIs and must
        # not end up in an NPI column.
        return self.ident if self.id_qualifier == "XX" else ""

    @property
    def display_name(self) -> str:
        return f"{self.last}, {self.first}" if self.is_person and self.first else self.last


def _pick_provider(*candidates: _Party | None) -> tuple[str, str]:
    """(npi, name) of the first candidate that has an NPI, else of the first one with a name.

    The name and the NPI always come from the same NM1/N1. A rendering provider's name is never
    paired with a payee's NPI."""
    present = [p for p in candidates if p is not None]
    for party in present:
        if party.npi:
            return party.npi, party.display_name
    for party in present:
        if party.display_name:
            return "", party.display_name
    return "", ""


# --------------------------------------------------------------------------------------------
# Interchange: envelope, segment stream, dispatch to the transaction readers
# --------------------------------------------------------------------------------------------


class _Run:
    """What the transaction readers share: the results and pyx12's delimiters."""

    def __init__(self, notes: _Notes, reader: X12Reader) -> None:
        self.notes = notes
        self.lines: list[ParsedClaimLine] = []
        self.rejects: list[Reject] = []
        self.subele_term = reader.subele_term or ""

    def reject(self, line: int, reason: str) -> None:
        self.rejects.append(Reject(line=line, reason=reason))

    def components(self, seg: Segment, pos: int, segnum: int) -> list[str]:
        """The components of composite element `pos`, stripped.

        pyx12 splits composites on ISA16. Some senders use another separator in the body,
        e.g. "SVC*HC>55669" under ISA16 ":". pyx12 then returns a single component. That one
        element (never the whole file) is split on the character that follows its qualifier,
        and a warning is recorded."""
        if pos > len(seg.elements):
            return []
        parts = [element.value.strip() for element in seg.elements[pos - 1].elements]
        if len(parts) == 1 and (stray := _STRAY_SEPARATOR_RE.match(parts[0])):
            separator = stray.group(1)
            self.notes.add(
                f"{seg.get_seg_id()}{pos:02d} at segment {segnum} uses {separator!r} between "
                f"components although ISA16 declares {self.subele_term!r}; it was read as a "
                "component separator",
                key=("separator", separator),
            )
            parts = [part.strip() for part in parts[0].split(separator)]
        return parts


class _Interchange:
    """ISA/GS/ST envelopes. Each ST..SE body is handed to an 835 or 837 reader."""

    def __init__(self, reader: X12Reader, notes: _Notes) -> None:
        self.reader = reader
        self.notes = notes
        self.run = _Run(notes, reader)
        self.count = 0  # segments read so far, including empty ones
        self.transaction = ""  # ST01 of the first transaction set: "835" or "837"
        self.body: _Remit835 | _Claims837 | None = None  # reader of the open ST..SE
        self.st_segnum = 0
        self.skipping = False  # inside an ST..SE of another transaction type
        self.gs01 = self.gs08 = ""

    def read(self) -> ParseResult:
        for segnum, seg_id, seg in self._segments():
            if seg_id == "GS":
                self.gs01, self.gs08 = _el(seg, 1), _el(seg, 8)
            elif seg_id == "ST":
                self._close_body(segnum, f"a new ST starts at segment {segnum}")
                self._open_body(seg, segnum)
            elif seg_id == "SE":
                if self.body is not None:
                    self.body.finish(complete=True)
                self.body, self.skipping = None, False
            elif seg_id in ("GE", "IEA", "ISA"):
                if seg_id == "ISA" and _el(seg, 12) != "00501":
                    # pyx12 also accepts 00401. The 4010 835/837 have the same segments for
                    # everything read here, but the result is worth a second look.
                    self.notes.add(
                        f"ISA at segment {segnum} has version {_el(seg, 12)!r}, not 00501 "
                        "(5010); it was read with the 5010 rules",
                        key="isa-version",
                    )
                self._close_body(segnum, f"{seg_id} comes at segment {segnum} before any SE")
                self.skipping = False
            elif self.body is not None:
                self.body.segment(seg_id, seg, segnum)
            elif not self.skipping:
                self.notes.add(
                    f"segment {segnum} ({seg_id or 'no id'}) is outside any ST..SE transaction "
                    "set; ignored",
                    key="outside-st",
                )
        self._close_body(
            self.count + 1, f"the file ends after segment {self.count} (it looks truncated)"
        )
        self.reader.cleanup()  # pyx12's check for missing GE/IEA trailers
        for kind, _code, message, _value, _line in self.reader.pop_errors():
            if kind != "st":  # a missing SE is already a Reject (see _close_body)
                self.notes.add(f"end of file: {message}")
        if not self.transaction:
            if self.gs01 not in _GS01_TYPES:
                raise ValueError(
                    "the X12 interchange contains no ST transaction set and its GS01 is "
                    f"{self.gs01 or 'missing'}, so it is neither an 835 nor an 837"
                )
            self.transaction = _GS01_TYPES[self.gs01]
        rejects = sorted(self.run.rejects, key=lambda r: r.line)  # stable for equal lines
        return ParseResult(
            transaction=self.transaction,
            lines=self.run.lines,
            rejects=rejects,
            warnings=self.notes.as_list(),
        )

    def _open_body(self, seg: Segment, segnum: int) -> None:
        st01 = _el(seg, 1)
        if _damaged_st01(st01) and self.gs01 in _GS01_TYPES:
            # GS01 of the functional group says what the transaction set is.
            st01 = _GS01_TYPES[self.gs01]
            self.notes.add(
                f"ST01 {_raw(seg, 1)!r} at segment {segnum} is not a transaction set "
                f"identifier; GS01 {self.gs01!r} says {st01}, so it was read as one",
                key="st01-from-gs01",
            )
        if not self.transaction:
            self.transaction = _transaction_type(st01, f"ST at segment {segnum}")
        if st01 != self.transaction:
            self.run.reject(
                segnum,
                f"ST at segment {segnum} starts a {st01 or 'untyped'} transaction set in a file "
                f"whose first transaction set is {self.transaction}; it was skipped up to its SE",
            )
            self.skipping = True
            return
        self.skipping = False
        self.st_segnum = segnum
        if not _el(seg, 3):
            used = f" (GS08 {self.gs08!r} applies instead)" if self.gs08 else ""
            self.notes.add(
                f"ST segment at segment {segnum} has no ST03 implementation reference{used}",
                key="no-st03",
            )
        self.body = _Remit835(self.run) if self.transaction == "835" else _Claims837(self.run)

    def _close_body(self, at: int, how: str) -> None:
        """End an ST..SE that has no SE: `how` says what came instead."""
        if self.body is None:
            return
        self.body.finish(complete=False)
        self.body = None
        self.run.reject(
            at,
            f"the transaction set started by ST at segment {self.st_segnum} has no SE trailer: "
            + how,
        )

    def _segments(self) -> Iterator[tuple[int, str, Segment]]:
        """(segment number, id, pyx12 Segment) for every segment, with pyx12's findings
        recorded as warnings.

        Recovery around pyx12:
        - RawX12File ends its iteration at an empty segment ("~~"). Its buffer still holds the
          rest of the file, so iterating the reader again continues after the empty segment.
        - pyx12 raises X12Error for some malformed control segments, e.g. an ISA with the wrong
          element count. That segment is rejected and reading continues the same way.
        - A trailing fragment without a terminator (a truncated file) is silently left in
          RawX12File's buffer, so it is looked for there.
        """
        reader = self.reader
        raw = reader.raw
        while True:
            try:
                for seg in reader:
                    self.count += 1
                    for kind, code, message, _value, _line in reader.pop_errors():
                        self.notes.add(
                            f"segment {self.count}: {message} (pyx12 check {kind}/{code})",
                            key=("pyx12", kind, code),
                        )
                    yield self.count, seg.get_seg_id() or "", seg
            except pyx12.errors.X12Error as exc:
                self.count += 1
                self.run.reject(self.count, f"segment {self.count} cannot be read: {exc}; skipped")
                continue
            except IndexError:
                # X12Reader indexes line[-1] after stripping leading spaces, which fails on a
                # segment made only of blanks.
                self.count += 1
                self.notes.add(f"segment {self.count} is blank; ignored", key="blank-segment")
                continue
            rest = raw.buffer + raw.fd.read()  # raw only buffers 8 KiB at a time
            raw.buffer = rest
            if reader.seg_term in rest:
                self.count += 1
                self.notes.add(f"segment {self.count} is empty; ignored", key="empty-segment")
                continue
            fragment = rest.strip()
            if fragment:
                self.run.reject(
                    self.count + 1,
                    f"segment {self.count + 1} is cut off at the end of the file: "
                    f"{fragment[:60]!r} has no segment terminator {reader.seg_term!r} "
                    "(the file looks truncated); it was ignored",
                )
            return


# --------------------------------------------------------------------------------------------
# 835 remittance advice
# --------------------------------------------------------------------------------------------


@dataclass
class _Svc835:
    segnum: int
    number: int
    code: str = ""
    modifiers: tuple[str, ...] = ()
    billed: Decimal | None = None
    paid: Decimal | None = None
    allowed: Decimal | None = None
    start: date | None = None
    end: date | None = None
    bad_date: bool = False  # a line date was present but unreadable: no fallback to the claim
    problems: list[str] = field(default_factory=list)


@dataclass
class _Clp:
    segnum: int
    claim_number: str
    payer_claim_number: str
    billed: Decimal | None
    paid: Decimal | None
    amount_problems: list[str]
    patient: _Party | None = None  # NM1*QC
    insured: _Party | None = None  # NM1*IL, sent only when the insured is not the patient
    corrected: _Party | None = None  # NM1*74, the payer's corrections to name/id
    rendering: _Party | None = None  # NM1*82
    start: date | None = None  # DTM*232 claim statement period start
    end: date | None = None  # DTM*233 claim statement period end
    date_problems: list[str] = field(default_factory=list)
    lines: list[_Svc835] = field(default_factory=list)


class _Remit835:
    """One 835 ST..SE. Header (BPR, DTM*405, N1*PE), then claims (CLP) with their service lines
    (SVC). Claim-level segments come between CLP and the first SVC. Line-level ones follow
    their SVC."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.bpr_segnum = 0
        self.bpr_raw_date = ""
        self.bpr_elements = 0
        self.production_date: date | None = None  # DTM*405
        self.payee: _Party | None = None
        self.claim: _Clp | None = None
        self._paid_date: date | None = None
        self._paid_date_known = False

    def segment(self, seg_id: str, seg: Segment, segnum: int) -> None:
        claim = self.claim
        if seg_id == "CLP":
            self._close_claim()
            self._open_claim(seg, segnum)
        elif seg_id in ("LX", "PLB"):
            # LX opens the next header-number group and PLB follows all claims: both end a claim.
            self._close_claim()
        elif claim is None:
            if seg_id == "BPR":
                self.bpr_segnum = segnum
                self.bpr_raw_date = _el(seg, 16)
                self.bpr_elements = len(seg.elements)
            elif seg_id == "DTM" and _el(seg, 1) == "405":
                self.production_date = _date(_el(seg, 2))
            elif seg_id == "N1" and _el(seg, 1) == "PE":
                self.payee = _Party.from_n1(seg, segnum)
        elif seg_id == "SVC":
            self._open_line(claim, seg, segnum)
        elif seg_id == "NM1":
            self._claim_party(claim, seg, segnum)
        elif seg_id == "DTM":
            self._dtm(claim, seg, segnum)
        elif seg_id == "AMT" and _el(seg, 1) == "B6" and claim.lines:
            line = claim.lines[-1]
            line.allowed = _money(_el(seg, 2))
            if line.allowed is None:
                self.run.notes.add(
                    f"AMT*B6 at segment {segnum}: {_bad('AMT02', _el(seg, 2), 'an amount')}; "
                    "allowed amount left empty",
                    key="bad-allowed",
                )

    def finish(self, complete: bool) -> None:
        self._close_claim(complete)

    # -- claims ------------------------------------------------------------------------------

    def _open_claim(self, seg: Segment, segnum: int) -> None:
        billed_raw, paid_raw = _el(seg, 3), _el(seg, 4)
        billed, paid = _money(billed_raw), _money(paid_raw)
        problems = []
        if billed is None:
            problems.append(_bad("CLP03 (billed)", billed_raw, "an amount"))
        if paid is None:
            problems.append(_bad("CLP04 (paid)", paid_raw, "an amount"))
        self.claim = _Clp(
            segnum=segnum,
            claim_number=_el(seg, 1),
            payer_claim_number=_el(seg, 7),
            billed=billed,
            paid=paid,
            amount_problems=problems,
        )

    def _claim_party(self, claim: _Clp, seg: Segment, segnum: int) -> None:
        entity = _el(seg, 1)
        if entity == "QC":
            claim.patient = _Party.from_nm1(seg, segnum)
        elif entity == "IL":
            claim.insured = _Party.from_nm1(seg, segnum)
        elif entity == "74":
            claim.corrected = _Party.from_nm1(seg, segnum)
        elif entity == "82":
            claim.rendering = _Party.from_nm1(seg, segnum)

    def _dtm(self, claim: _Clp, seg: Segment, segnum: int) -> None:
        qualifier, raw = _el(seg, 1), _el(seg, 2)
        value = _date(raw)
        problem = f"DTM*{qualifier} at segment {segnum} has an invalid date {raw!r}"
        if qualifier in ("232", "233"):
            if value is None:
                claim.date_problems.append(problem)
            elif qualifier == "232":
                claim.start = value
            else:
                claim.end = value
        elif qualifier in ("472", "150", "151") and claim.lines:
            line = claim.lines[-1]
            if value is None:
                line.problems.append(problem)
                line.bad_date = True
            elif qualifier == "151":
                line.end = value
            else:
                line.start = value
                if qualifier == "472":  # a single date of service
                    line.end = value

    def _open_line(self, claim: _Clp, seg: Segment, segnum: int) -> None:
        line = _Svc835(segnum=segnum, number=len(claim.lines) + 1)
        claim.lines.append(line)
        composite = self.run.components(seg, 1, segnum)
        line.code = composite[1] if len(composite) > 1 else ""
        line.modifiers = tuple(m for m in composite[2:6] if m)
        if not _el(seg, 1):
            line.problems.append("SVC01 (procedure) is empty")
            return
        if not line.code:
            # e.g. "SVC*HC*24599.00*1766.50*187.50": a component separator went missing and every
            # later element moved one place to the right, so the amounts cannot be trusted.
            line.problems.append(
                f"SVC01 {_el(seg, 1)!r} has no procedure code after its qualifier; the elements "
                f"after it look shifted (SVC02 {_el(seg, 2)!r}, SVC03 {_el(seg, 3)!r}), so its "
                "amounts cannot be trusted"
            )
            return
        billed_raw, paid_raw = _el(seg, 2), _el(seg, 3)
        line.billed, line.paid = _money(billed_raw), _money(paid_raw)
        if line.billed is None:
            line.problems.append(_bad("SVC02 (billed)", billed_raw, "an amount"))
        if line.paid is None:
            line.problems.append(_bad("SVC03 (paid)", paid_raw, "an amount"))

    def _close_claim(self, complete: bool = True) -> None:
        claim, self.claim = self.claim, None
        if claim is None:
            return
        where = f"835 claim {claim.claim_number or '?'} (CLP at segment {claim.segnum})"
        lines = claim.lines
        if not lines and not complete:
            self.run.reject(
                claim.segnum,
                f"{where}: the transaction set breaks off inside this claim (no SE) before any "
                "SVC service line; claim not imported",
            )
            return
        if not lines:
            # Institutional remittances (Medicare Part A, DRG payments) often have no SVC
            # loops: the claim is paid as a whole. It still counts as a paid claim line.
            self.run.notes.add(
                f"claim {claim.claim_number!r} (CLP at segment {claim.segnum}) has no SVC service "
                "lines; it was read as one claim-level line from CLP03/CLP04 and DTM*232/233",
                key="claim-level-835",
            )
            lines = [
                _Svc835(
                    segnum=claim.segnum,
                    number=1,
                    billed=claim.billed,
                    paid=claim.paid,
                    problems=list(claim.amount_problems),
                )
            ]
        member = self._member(claim)
        npi, provider_name = _pick_provider(claim.rendering, self.payee)
        paid_date = self._paid_date_for_lines()
        for line in lines:
            problems = list(line.problems)
            start, end = line.start, line.end
            if start is None and not line.bad_date:
                # No line date: fall back on the claim's statement period.
                start, end = claim.start, claim.end
                if start is None:
                    problems.append(
                        "no service date: no DTM*472/150 on the line and no usable DTM*232 "
                        "on the claim" + "".join(f"; {p}" for p in claim.date_problems)
                    )
            if not claim.claim_number:
                problems.append(
                    f"CLP01 (patient control number) at segment {claim.segnum} is empty"
                )
            if not complete and line is lines[-1]:
                # Only the line that was still open can be missing segments: the loops of the
                # lines before it were closed by the next line, and claim-level segments come
                # before the first line.
                problems.insert(0, _BROKEN_OFF)
            if problems:
                self.run.reject(
                    line.segnum,
                    f"{where}, service line {line.number} (segment {line.segnum}): "
                    + "; ".join(problems)
                    + "; line not imported",
                )
                continue
            self.run.lines.append(
                ParsedClaimLine(
                    source_line=line.segnum,
                    claim_number=claim.claim_number,
                    payer_claim_number=claim.payer_claim_number,
                    line_number=line.number,
                    member_id=member.ident,
                    member_last_name=member.last,
                    member_first_name=member.first,
                    member_dob=None,
                    provider_npi=npi,
                    provider_name=provider_name,
                    service_from=start,
                    service_to=end,
                    procedure_code=line.code,
                    modifiers=line.modifiers,
                    diagnosis_codes=(),
                    diagnosis_code_set="",
                    billed_amount=line.billed,  # type: ignore[arg-type]  # checked above
                    allowed_amount=line.allowed,
                    paid_amount=line.paid,
                    paid_date=paid_date,
                    accident_indicator="",
                    accident_state="",
                    accident_date=None,
                    occurrence_codes=(),
                    value_codes=(),
                )
            )
        if (
            complete
            and claim.lines
            and claim.billed is not None
            and all(not s.problems for s in claim.lines)
        ):
            total = sum((s.billed for s in claim.lines if s.billed is not None), Decimal("0.00"))
            if total != claim.billed:
                self.run.notes.add(
                    f"{where}: the SVC02 billed amounts add up to {total} but CLP03 is "
                    f"{claim.billed}",
                    key="835-billed-sum",
                )

    def _member(self, claim: _Clp) -> _Party:
        """The member is the patient (NM1*QC). The insured (NM1*IL) stands in when the patient
        is missing or has no id. The payer's corrections (NM1*74) override any element they
        fill in; the elements they leave blank mean "not corrected"."""
        base = claim.patient or claim.insured or _Party(segnum=claim.segnum)
        member = _Party(segnum=base.segnum, last=base.last, first=base.first, ident=base.ident)
        if not member.ident and claim.insured is not None:
            member.ident = claim.insured.ident
        if claim.corrected is not None:
            member.last = claim.corrected.last or member.last
            member.first = claim.corrected.first or member.first
            member.ident = claim.corrected.ident or member.ident
        if not member.ident:
            self.run.notes.add(
                f"835 claim {claim.claim_number!r} (CLP at segment {claim.segnum}) has no member "
                "id in NM1*QC/IL/74 NM109",
                key="835-no-member-id",
            )
        return member

    def _paid_date_for_lines(self) -> date | None:
        """BPR16 (check issue / EFT effective date), else DTM*405 (production date).

        Worked out once for each transaction set, so its warning appears only once."""
        if self._paid_date_known:
            return self._paid_date
        self._paid_date_known = True
        self._paid_date = _date(self.bpr_raw_date)
        if self._paid_date is not None:
            return self._paid_date
        if not self.bpr_segnum:
            problem = "there is no BPR segment"
        elif self.bpr_raw_date:
            problem = (
                f"BPR16 {self.bpr_raw_date!r} at segment {self.bpr_segnum} is not a valid date"
            )
        else:
            problem = (
                f"BPR at segment {self.bpr_segnum} has no BPR16 payment date (it has "
                f"{self.bpr_elements} elements)"
            )
        self._paid_date = self.production_date
        if self._paid_date is not None:
            self.run.notes.add(
                f"{problem}; the DTM*405 production date {self._paid_date.isoformat()} is used "
                "as the paid date"
            )
        else:
            self.run.notes.add(
                f"{problem} and there is no usable DTM*405; paid dates are left empty"
            )
        return self._paid_date


# --------------------------------------------------------------------------------------------
# 837 professional / institutional claims
# --------------------------------------------------------------------------------------------


@dataclass
class _Svc837:
    segnum: int
    number: int
    code: str = ""
    modifiers: tuple[str, ...] = ()
    billed: Decimal | None = None
    has_service: bool = False  # an SV1/SV2 was seen for this LX
    start: date | None = None
    end: date | None = None
    rendering: _Party | None = None  # 2420A NM1*82
    bad_date: bool = False  # a line date was present but unreadable: no fallback to the claim
    problems: list[str] = field(default_factory=list)


@dataclass
class _Clm:
    segnum: int
    claim_number: str
    billed: Decimal | None
    causes: tuple[str, ...]
    accident_state: str
    billing: _Party | None
    subscriber: _Party | None
    patient: _Party | None
    loop: str = "2300"  # 2300 claim, 2310 claim providers, 2320 other payers, 2400 line, ...
    payer_claim_number: str = ""
    accident_date: date | None = None
    statement: tuple[date, date] | None = None  # DTP*434, or a claim-level DTP*472
    rendering: _Party | None = None  # 2310B NM1*82
    principal_dx: list[str] = field(default_factory=list)
    other_dx: list[str] = field(default_factory=list)
    code_sets: dict[str, None] = field(default_factory=dict)  # ordered set
    occurrence_codes: list[str] = field(default_factory=list)
    value_codes: list[str] = field(default_factory=list)
    lines: list[_Svc837] = field(default_factory=list)


class _Claims837:
    """One 837 ST..SE: the HL tree (20 billing provider, 22 subscriber, 23 patient), with
    claims (CLM) under a subscriber or patient HL and service lines (LX + SV1/SV2) under a
    claim. The loop that matters for each segment is tracked in _Clm.loop. An NM1*IL after
    SBR in loop 2320 is another payer's subscriber, not the member."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.billing: _Party | None = None
        self.subscriber: _Party | None = None
        self.patient: _Party | None = None
        self.entity = ""  # NM101 of the last NM1 outside a claim, so DMG knows whose it is
        self.claim: _Clm | None = None

    def segment(self, seg_id: str, seg: Segment, segnum: int) -> None:
        if seg_id == "HL":
            self._close_claim()
            level = _el(seg, 3)
            if level == "20":
                self.billing = self.subscriber = self.patient = None
            elif level == "22":
                self.subscriber = self.patient = None
            elif level == "23":
                self.patient = None
            self.entity = ""
        elif seg_id == "CLM":
            self._close_claim()
            self._open_claim(seg, segnum)
        elif self.claim is None:
            self._outside_claim(seg_id, seg, segnum)
        else:
            self._in_claim(self.claim, seg_id, seg, segnum)

    def finish(self, complete: bool) -> None:
        self._close_claim(complete)

    def _outside_claim(self, seg_id: str, seg: Segment, segnum: int) -> None:
        if seg_id == "NM1":
            self.entity = _el(seg, 1)
            if self.entity == "85":
                self.billing = _Party.from_nm1(seg, segnum)
            elif self.entity == "IL":
                self.subscriber = _Party.from_nm1(seg, segnum)
            elif self.entity == "QC":
                self.patient = _Party.from_nm1(seg, segnum)
        elif seg_id == "DMG":
            person = {"IL": self.subscriber, "QC": self.patient}.get(self.entity)
            if person is not None:
                person.dob = _date(_el(seg, 2))
                if person.dob is None and _el(seg, 2):
                    self.run.notes.add(
                        f"DMG at segment {segnum}: DMG02 {_el(seg, 2)!r} is not a valid date "
                        "of birth; left empty",
                        key="bad-dob",
                    )

    # -- claims ------------------------------------------------------------------------------

    def _open_claim(self, seg: Segment, segnum: int) -> None:
        related = self.run.components(seg, 11, segnum)  # CLM11: causes 1..3, state, country
        self.claim = _Clm(
            segnum=segnum,
            claim_number=_el(seg, 1),
            billed=_money(_el(seg, 2)),
            causes=tuple(c for c in related[:3] if c),
            accident_state=related[3] if len(related) > 3 else "",
            billing=self.billing,
            subscriber=self.subscriber,
            patient=self.patient,
        )

    def _in_claim(self, claim: _Clm, seg_id: str, seg: Segment, segnum: int) -> None:
        if seg_id == "LX":
            claim.loop = "2400"
            self._new_line(claim, segnum, _el(seg, 1))
        elif seg_id in ("SV1", "SV2", "SV3"):
            self._service(claim, seg_id, seg, segnum)
        elif seg_id == "SBR":
            claim.loop = "2320"  # other payer: its NM1/REF/DTP are not this claim's
        elif seg_id == "SVD":
            claim.loop = "2430"  # line adjudication by another payer
        elif seg_id == "NM1":
            self._nm1(claim, seg, segnum)
        elif seg_id == "DTP":
            self._dtp(claim, seg, segnum)
        elif claim.loop in ("2300", "2310"):
            if seg_id == "HI":
                self._hi(claim, seg, segnum)
            elif seg_id == "REF" and _el(seg, 1) == "F8" and claim.loop == "2300":
                claim.payer_claim_number = _el(seg, 2)

    def _new_line(self, claim: _Clm, segnum: int, lx01: str = "") -> _Svc837:
        valid = lx01.isascii() and lx01.isdigit() and int(lx01) > 0
        number = int(lx01) if valid else len(claim.lines) + 1
        line = _Svc837(segnum=segnum, number=number)
        claim.lines.append(line)
        return line

    def _nm1(self, claim: _Clm, seg: Segment, segnum: int) -> None:
        entity = _el(seg, 1)
        if claim.loop in ("2300", "2310"):
            claim.loop = "2310"
            if entity == "82":
                claim.rendering = _Party.from_nm1(seg, segnum)
        elif claim.loop in ("2400", "2420"):
            claim.loop = "2420"
            if entity == "82" and claim.lines:
                claim.lines[-1].rendering = _Party.from_nm1(seg, segnum)

    def _dtp(self, claim: _Clm, seg: Segment, segnum: int) -> None:
        qualifier, raw = _el(seg, 1), _el(seg, 3)
        if claim.loop in ("2320", "2430"):
            return  # another payer's dates
        period = _period(raw)
        problem = f"DTP*{qualifier} at segment {segnum} has an invalid date {raw!r}"
        if qualifier == "472" and claim.loop in ("2400", "2420") and claim.lines:
            line = claim.lines[-1]
            if period is None:
                line.problems.append(problem)
                line.bad_date = True
            else:
                line.start, line.end = period
        elif qualifier in ("434", "472") and claim.loop in ("2300", "2310"):
            if period is not None:
                claim.statement = period
            else:
                self.run.notes.add(f"{problem}; ignored", key=("bad-claim-date", qualifier))
        elif qualifier == "439" and claim.loop in ("2300", "2310"):
            claim.accident_date = _date(raw)
            if claim.accident_date is None:
                self.run.notes.add(f"{problem}; accident date left empty", key="bad-accident-date")

    def _hi(self, claim: _Clm, seg: Segment, segnum: int) -> None:
        for pos in range(1, len(seg.elements) + 1):
            parts = self.run.components(seg, pos, segnum)
            qualifier = parts[0] if parts else ""
            code = parts[1] if len(parts) > 1 else ""
            if qualifier in _DX_PRINCIPAL or qualifier in _DX_OTHER:
                code = code.replace(".", "").replace(" ", "").upper()
                if not code:
                    self.run.notes.add(
                        f"HI{pos:02d} at segment {segnum} has the qualifier {qualifier!r} but no "
                        "code; ignored",
                        key="empty-dx",
                    )
                    continue
                if qualifier in _DX_PRINCIPAL:
                    claim.principal_dx.append(code)
                    claim.code_sets.setdefault(_DX_PRINCIPAL[qualifier])
                else:
                    claim.other_dx.append(code)
                    claim.code_sets.setdefault(_DX_OTHER[qualifier])
            elif qualifier == "BH" and code:
                claim.occurrence_codes.append(code)
            elif qualifier == "BE" and code:
                claim.value_codes.append(code)
            # BG condition codes are not occurrence codes (condition 02 "employment related"
            # is not occurrence 02 "no-fault insurance"), so they are not collected there.

    def _service(self, claim: _Clm, seg_id: str, seg: Segment, segnum: int) -> None:
        if claim.loop not in ("2400", "2420") or not claim.lines or claim.lines[-1].has_service:
            self.run.notes.add(
                f"{seg_id} at segment {segnum} has no LX before it; it was read as a new "
                "service line",
                key="service-without-lx",
            )
            claim.loop = "2400"
            self._new_line(claim, segnum)
        line = claim.lines[-1]
        line.has_service = True
        if seg_id == "SV3":
            line.problems.append(
                f"SV3 at segment {segnum} is a dental service line (837D); not supported"
            )
            return
        if seg_id == "SV1":
            procedure = self.run.components(seg, 1, segnum)
            billed_name, billed_raw = "SV102 (billed)", _el(seg, 2)
            line.code = procedure[1] if len(procedure) > 1 else ""
        else:
            # 837I: SV201 revenue code, SV202 HCPCS composite (optional). The HCPCS is more
            # specific; the revenue code stands in when there is none.
            procedure = self.run.components(seg, 2, segnum)
            billed_name, billed_raw = "SV203 (billed)", _el(seg, 3)
            line.code = (procedure[1] if len(procedure) > 1 else "") or _el(seg, 1)
        line.modifiers = tuple(m for m in procedure[2:6] if m)
        if not line.code:
            where = "SV101" if seg_id == "SV1" else "SV201/SV202"
            line.problems.append(f"{seg_id} at segment {segnum}: {where} has no procedure code")
        line.billed = _money(billed_raw)
        if line.billed is None:
            line.problems.append(
                f"{seg_id} at segment {segnum}: " + _bad(billed_name, billed_raw, "an amount")
            )

    def _close_claim(self, complete: bool = True) -> None:
        claim, self.claim = self.claim, None
        if claim is None:
            return
        where = f"837 claim {claim.claim_number or '?'} (CLM at segment {claim.segnum})"
        if not claim.lines:
            self.run.reject(
                claim.segnum,
                f"{where} has no service lines (LX with SV1/SV2)"
                + (
                    "" if complete else "; the transaction set breaks off inside this claim (no SE)"
                ),
            )
            return
        member = self._member(claim, where)
        diagnoses = _dedupe(claim.principal_dx + claim.other_dx)
        code_sets = list(claim.code_sets)
        if len(code_sets) > 1:
            self.run.notes.add(
                f"{where} mixes ICD-9 and ICD-10 diagnosis qualifiers; the code set of the "
                "first one is reported",
                key="mixed-code-sets",
            )
        if "AA" in claim.causes or "OA" in claim.causes:
            if claim.accident_date is None:
                self.run.notes.add(
                    f"{where}: CLM11 says accident ({','.join(claim.causes)}) but there is no "
                    "usable DTP*439 accident date",
                    key="accident-without-date",
                )
        accepted = 0
        for line in claim.lines:
            problems = list(line.problems)
            if not line.has_service:
                problems.append(f"LX at segment {line.segnum} has no SV1/SV2 service segment")
            start, end = line.start, line.end
            if start is None and not line.bad_date:
                if claim.statement is None:
                    problems.append(
                        "no service date: no DTP*472 on the line and no usable DTP*434 on the claim"
                    )
                else:
                    start, end = claim.statement
            if not claim.claim_number:
                problems.append(f"CLM01 (claim number) at segment {claim.segnum} is empty")
            if not complete and line is claim.lines[-1]:
                problems.insert(0, _BROKEN_OFF)  # see _Remit835._close_claim
            if problems:
                self.run.reject(
                    line.segnum,
                    f"{where}, service line {line.number} (segment {line.segnum}): "
                    + "; ".join(problems)
                    + "; line not imported",
                )
                continue
            accepted += 1
            npi, provider_name = _pick_provider(line.rendering, claim.rendering, claim.billing)
            self.run.lines.append(
                ParsedClaimLine(
                    source_line=line.segnum,
                    claim_number=claim.claim_number,
                    payer_claim_number=claim.payer_claim_number,
                    line_number=line.number,
                    member_id=member.ident,
                    member_last_name=member.last,
                    member_first_name=member.first,
                    member_dob=member.dob,
                    provider_npi=npi,
                    provider_name=provider_name,
                    service_from=start,
                    service_to=end,
                    procedure_code=line.code,
                    modifiers=line.modifiers,
                    diagnosis_codes=diagnoses,
                    diagnosis_code_set=code_sets[0] if code_sets else "",
                    billed_amount=line.billed,  # type: ignore[arg-type]  # checked above
                    allowed_amount=None,
                    paid_amount=None,  # an 837 is a bill, not a payment
                    paid_date=None,
                    accident_indicator=",".join(claim.causes),
                    accident_state=claim.accident_state,
                    accident_date=claim.accident_date,
                    occurrence_codes=tuple(claim.occurrence_codes),
                    value_codes=tuple(claim.value_codes),
                )
            )
        if accepted == len(claim.lines) and claim.billed is not None:
            total = sum((line.billed for line in claim.lines if line.billed), Decimal("0.00"))
            if total != claim.billed:
                self.run.notes.add(
                    f"{where}: the service lines add up to {total} but CLM02 is {claim.billed}",
                    key="837-billed-sum",
                )

    def _member(self, claim: _Clm, where: str) -> _Party:
        """member_id is the subscriber's NM1*IL NM109, the only member id an 837 carries. When
        a patient loop (2000C, NM1*QC) exists, the patient received the service, so the name
        and date of birth are the patient's. That case is flagged, because the id and the name
        then belong to different people."""
        subscriber, patient = claim.subscriber, claim.patient
        person = patient or subscriber or _Party(segnum=claim.segnum)
        member = _Party(
            segnum=person.segnum,
            last=person.last,
            first=person.first,
            ident=subscriber.ident if subscriber else "",
            dob=person.dob,
        )
        if patient is not None:
            self.run.notes.add(
                f"{where}: the patient (NM1*QC at segment {patient.segnum}) is not the "
                "subscriber; member_id is the subscriber's NM1*IL NM109 and the name and date "
                "of birth are the patient's",
                key="patient-not-subscriber",
            )
        if not member.ident:
            self.run.notes.add(
                f"{where} has no subscriber id (NM1*IL NM109)", key="837-no-member-id"
            )
        return member
