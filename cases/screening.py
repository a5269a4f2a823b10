"""Trauma screening of paid claim lines (42 CFR 433.138(e)) and ICD-10-CM look-ups.

Pure Python: no Django, no database, nothing compiled per call. Code classification is
``lru_cache``d per (code, code set, ICD era), so ``screen_line``/``screen_many`` run at well over
100,000 mixed lines per second on one core. ``validate_icd10``/``describe_icd10`` load the
simple_icd_10_cm data (about 2 s) on first use only.

Rules (a line is judged on all of its diagnoses and claim-level indicators together)

=====================================  ===========  ===================  ==========================
Signal                                  Tier         rule                 opens a case?
=====================================  ===========  ===================  ==========================
ICD-10-CM S00-T79 (injury, burns,       strong       icd10_injury         7th char A/B/C: yes;
  poisoning T36-T65 with intent 1-4,                                      D-R (subsequent) or S
  toxic effects, other external                                           (sequela): no; none: yes
  effects, traumatic complications)
ICD-10-CM V00-Y38 external causes       strong       icd10_external_cause same 7th-char rule
ICD-10-CM Y90, Y92, Y93, Y99            context      icd10_external_cause no 7th char: neutral
  (alcohol level, place, activity,
  status)
ICD-10-CM T36-T50, intent 5/6           weak         adverse_effect       7th-char rule
  (adverse effect / underdosing)
ICD-10-CM T36-T50, intent missing       weak         drug_intent_unknown  7th-char rule
ICD-10-CM T80-T88, Y62-Y84, Y95         weak         complication_of_care 7th-char rule
ICD-9-CM 800-995                        strong       icd9_injury          yes (no 7th char)
ICD-9-CM 996-999, 909.3, 995.4,         weak         complication_of_care yes
  995.86
ICD-9-CM 995.2x, 909.5                  weak         adverse_effect       yes
ICD-9-CM E800-E999                      strong       icd9_ecode           yes
ICD-9-CM E849 (place of occurrence)     context      icd9_ecode           neutral
ICD-9-CM E870-E879                      weak         complication_of_care yes
ICD-9-CM E930-E949                      weak         adverse_effect       yes
CLM11 related causes AA AB AP EM OA     strong       accident_indicator   yes
UB-04 occurrence codes 01-06            strong       occurrence_code      yes
UB-04 value codes 14, 15, 47            strong       value_code           yes
=====================================  ===========  ===================  ==========================

Decision: any strong signal -> INCLUDE; otherwise any weak signal -> REVIEW; otherwise any
context signal -> INCLUDE; otherwise NO_HIT. Context codes never lift a weak line to INCLUDE
(a place-of-occurrence "hospital" code next to a post-operative infection is still a review).
``opens_case`` looks at the signals of the deciding tier: any initial encounter -> True; else any
subsequent/sequela encounter -> False; else (ICD-9, codes without an encounter character,
claim-level indicators only) -> True.

Date window (only for lines that would be INCLUDE or REVIEW): with a case, service_from must be on
or after the incident date (else EXCLUDE ``before_incident``); with eligibility spans, service_from
must fall in one of them, ends inclusive, ``None`` end = open (else EXCLUDE
``outside_eligibility``). ``eligibility=None`` skips the check; an empty list means the member has
no eligibility. A missing service date when a check is asked for -> REVIEW ``no_service_date``.

Code set: ``code_set`` "ICD10"/"ICD9" (X12 qualifiers ABK/ABF/BK/BF..., UB-04 "0"/"9" accepted)
decides ambiguous shapes; a code whose shape is impossible in the declared set (digits under
ICD10, "S8290XA" under ICD9) is inferred instead. Inference: digits only -> ICD-9; "V" + digits
-> ICD-9 V-code (never an external cause; every ICD-10-CM V code carries a 7th character);
"E" + 3-4 digits is ICD-9 E-code vs ICD-10-CM E00-E89 (E86.0 dehydration is "E860"): a dot after
the 4th character means ICD-9 and after the 3rd means ICD-10; else a service date before
2015-10-01 means ICD-9 and on/after means ICD-10; with no date, ICD-9. Any other letter + digit +
alnum, 3-7 characters -> ICD-10-CM.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "ICD10_EFFECTIVE_DATE",
    "REASON_MAX_LENGTH",
    "CodeSignal",
    "Decision",
    "ScreeningInput",
    "ScreeningResult",
    "Strength",
    "classify_code",
    "describe_icd10",
    "is_trauma_code",
    "normalize_code",
    "screen_line",
    "screen_many",
    "validate_icd10",
]

#: ``ScreeningResult.reason`` never exceeds this (ClaimLine.screening_reason is 300 chars).
REASON_MAX_LENGTH = 300

#: ICD-10-CM replaced ICD-9-CM for dates of service on and after this day (HIPAA).
ICD10_EFFECTIVE_DATE = date(2015, 10, 1)

ICD10 = "ICD10"
ICD9 = "ICD9"


class Decision(StrEnum):
    INCLUDE = "include"
    REVIEW = "review"
    EXCLUDE = "exclude"
    NO_HIT = "no_hit"


class Strength(StrEnum):
    STRONG = "strong"  # auto-include
    CONTEXT = "context"  # supplementary external-cause code (place, activity, status, alcohol)
    WEAK = "weak"  # review, never auto-include


@dataclass(frozen=True, slots=True)
class ScreeningInput:
    diagnosis_codes: tuple[str, ...]
    code_set: str = ""  # "ICD10" | "ICD9" | ""
    accident_indicator: str = ""  # e.g. "AA" or "AA,EM"
    occurrence_codes: tuple[str, ...] = ()
    value_codes: tuple[str, ...] = ()
    service_from: date | None = None


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    decision: Decision
    rule: str
    reason: str
    opens_case: bool
    matched_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CodeSignal:
    """What one code contributes to screening."""

    code: str  # normalized diagnosis code, or "accident:AA" / "occurrence:01" / "value:14"
    code_set: str  # "ICD10", "ICD9" or "" for claim-level indicators
    rule: str
    strength: Strength
    label: str  # e.g. "ICD-10-CM injury, initial encounter"
    encounter: str  # "initial" | "subsequent" | "sequela" | ""

    @property
    def opens_case(self) -> bool:
        return self.encounter not in ("subsequent", "sequela")

    @property
    def text(self) -> str:
        # Claim-level indicators (no code set) carry their full wording in the label.
        return f"{self.code} ({self.label})" if self.code_set else self.label


# --------------------------------------------------------------------------- normalization

_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", ".")


def normalize_code(code: str) -> str:
    """Strip dots and whitespace (anywhere), upper-case ASCII letters. Idempotent."""
    if not code:
        return ""
    return "".join(str(code).split()).translate(_UPPER)


_CODE_SET_ALIASES = {
    # ICD-10-CM: plain names, UB-04 FL 66 qualifier "0", X12 HI qualifiers.
    "ICD10": ICD10,
    "ICD-10": ICD10,
    "ICD10CM": ICD10,
    "ICD-10-CM": ICD10,
    "10": ICD10,
    "0": ICD10,
    "ABK": ICD10,
    "ABF": ICD10,
    "ABJ": ICD10,
    "ABN": ICD10,
    "APR": ICD10,
    # ICD-9-CM
    "ICD9": ICD9,
    "ICD-9": ICD9,
    "ICD9CM": ICD9,
    "ICD-9-CM": ICD9,
    "9": ICD9,
    "BK": ICD9,
    "BF": ICD9,
    "BJ": ICD9,
    "BN": ICD9,
    "PR": ICD9,
}


def _norm_code_set(code_set: str | None) -> str:
    if not code_set:
        return ""
    found = _CODE_SET_ALIASES.get(code_set)  # fast path: already canonical
    if found is None:
        found = _CODE_SET_ALIASES.get(str(code_set).strip().upper(), "")
    return found


_ICD10_SHAPE = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
_ICD9_DIGITS = re.compile(r"[0-9]{3,5}")
_ICD9_ECODE = re.compile(r"E[0-9]{3,4}")
_ICD9_VCODE = re.compile(r"V[0-9]{2,4}")


def _icd9_shape(code: str) -> bool:
    return bool(
        _ICD9_DIGITS.fullmatch(code) or _ICD9_ECODE.fullmatch(code) or _ICD9_VCODE.fullmatch(code)
    )


def _era(service_from: date | None) -> str:
    if service_from is None:
        return ""
    return ICD10 if service_from >= ICD10_EFFECTIVE_DATE else ICD9


def _infer_code_set(raw: str, code: str, era: str) -> str:
    if _ICD9_DIGITS.fullmatch(code):
        return ICD9
    if _ICD9_VCODE.fullmatch(code):
        return ICD9
    if _ICD9_ECODE.fullmatch(code):
        # "E860" is ICD-10-CM E86.0 dehydration or ICD-9-CM E860 alcohol poisoning.
        before_dot, dot, _ = raw.partition(".")
        if dot:
            lead = len(normalize_code(before_dot))
            if lead == 4:  # E860.0
                return ICD9
            if lead == 3:  # E86.0
                return ICD10
        return era or ICD9
    if _ICD10_SHAPE.fullmatch(code):
        return ICD10
    return ""


# --------------------------------------------------------------------------- ICD-10-CM

_ENCOUNTER_BY_7TH = {
    **dict.fromkeys("ABC", "initial"),
    **dict.fromkeys("DEFGHJKMNPQR", "subsequent"),
    "S": "sequela",
}
_ENCOUNTER_SUFFIX = {
    "initial": ", initial encounter",
    "subsequent": ", subsequent encounter",
    "sequela": ", sequela",
    "": "",
}

# (first category, last category, rule, strength, label) on the two digits after the letter.
_S, _C, _W = Strength.STRONG, Strength.CONTEXT, Strength.WEAK
_ICD10_T_RANGES = (
    (0, 14, "icd10_injury", _S, "ICD-10-CM injury"),
    (15, 19, "icd10_injury", _S, "ICD-10-CM injury: foreign body"),
    (20, 32, "icd10_injury", _S, "ICD-10-CM injury: burn/corrosion"),
    (33, 35, "icd10_injury", _S, "ICD-10-CM injury: frostbite"),  # T35 unused in CM
    # 36-50 handled by intent character
    (51, 65, "icd10_injury", _S, "ICD-10-CM toxic effect (poisoning)"),
    (66, 78, "icd10_injury", _S, "ICD-10-CM injury: other effects of external causes"),
    (79, 79, "icd10_injury", _S, "ICD-10-CM injury: traumatic complication"),
    (80, 88, "complication_of_care", _W, "ICD-10-CM complication of surgical/medical care"),
)
_EXT = "icd10_external_cause"
_ICD10_VWXY_RANGES = (
    # (letter, first, last, ...)
    ("V", 0, 99, _EXT, _S, "ICD-10-CM external cause: transport accident"),
    ("W", 0, 99, _EXT, _S, "ICD-10-CM external cause: accident"),
    ("X", 0, 58, _EXT, _S, "ICD-10-CM external cause: accident"),
    ("X", 71, 83, _EXT, _S, "ICD-10-CM external cause: intentional self-harm"),
    ("X", 92, 99, _EXT, _S, "ICD-10-CM external cause: assault"),
    ("Y", 0, 9, _EXT, _S, "ICD-10-CM external cause: assault"),
    ("Y", 21, 33, _EXT, _S, "ICD-10-CM external cause: undetermined intent"),
    ("Y", 35, 38, _EXT, _S, "ICD-10-CM external cause: legal intervention/military/terrorism"),
    (
        "Y",
        62,
        84,
        "complication_of_care",
        _W,
        "ICD-10-CM external cause: complication of surgical/medical care",
    ),
    ("Y", 90, 90, _EXT, _C, "ICD-10-CM external cause: blood alcohol level"),
    ("Y", 92, 92, _EXT, _C, "ICD-10-CM external cause: place of occurrence"),
    ("Y", 93, 93, _EXT, _C, "ICD-10-CM external cause: activity"),
    ("Y", 95, 95, "complication_of_care", _W, "ICD-10-CM nosocomial condition"),
    ("Y", 99, 99, _EXT, _C, "ICD-10-CM external cause: status"),
)
_DRUG_INTENT = {
    "1": ("icd10_injury", _S, "ICD-10-CM poisoning by drug, accidental"),
    "2": ("icd10_injury", _S, "ICD-10-CM poisoning by drug, intentional self-harm"),
    "3": ("icd10_injury", _S, "ICD-10-CM poisoning by drug, assault"),
    "4": ("icd10_injury", _S, "ICD-10-CM poisoning by drug, undetermined intent"),
    "5": ("adverse_effect", _W, "ICD-10-CM adverse effect of drug"),
    "6": ("adverse_effect", _W, "ICD-10-CM underdosing of drug"),
}


def _signal(code, code_set, rule, strength, label, encounter="") -> CodeSignal:
    return CodeSignal(
        code=code,
        code_set=code_set,
        rule=rule,
        strength=strength,
        label=label + _ENCOUNTER_SUFFIX[encounter],
        encounter=encounter,
    )


def _classify_icd10(code: str) -> CodeSignal | None:
    letter = code[0]
    if letter not in "STVWXY" or not code[1:3].isdigit():
        return None
    cat = int(code[1:3])
    encounter = _ENCOUNTER_BY_7TH.get(code[6], "") if len(code) == 7 else ""
    if letter == "S":
        return _signal(code, ICD10, "icd10_injury", _S, "ICD-10-CM injury", encounter)
    if letter == "T":
        if 36 <= cat <= 50:
            # Intent is the 6th character; a few subcategories carry it in the 5th with an "X"
            # placeholder in the 6th (T36.91XA).
            intent = code[5] if len(code) >= 6 else ""
            if intent == "X":
                intent = code[4]
            found = _DRUG_INTENT.get(intent)
            if found is None:
                return _signal(
                    code,
                    ICD10,
                    "drug_intent_unknown",
                    _W,
                    "ICD-10-CM drug poisoning/adverse effect, intent character missing",
                    encounter,
                )
            return _signal(code, ICD10, *found, encounter)
        for first, last, rule, strength, label in _ICD10_T_RANGES:
            if first <= cat <= last:
                return _signal(code, ICD10, rule, strength, label, encounter)
        return None  # T89-T99 do not exist in ICD-10-CM; outside S00-T88
    for rng_letter, first, last, rule, strength, label in _ICD10_VWXY_RANGES:
        if rng_letter == letter and first <= cat <= last:
            return _signal(code, ICD10, rule, strength, label, encounter)
    # Unused category numbers inside V00-Y99 (e.g. X60, Y45): still the external-cause range.
    return _signal(code, ICD10, _EXT, _S, "ICD-10-CM external cause", encounter)


# --------------------------------------------------------------------------- ICD-9-CM

_ICD9_RANGES = (
    (800, 829, "ICD-9-CM injury: fracture"),
    (830, 839, "ICD-9-CM injury: dislocation"),
    (840, 848, "ICD-9-CM injury: sprain/strain"),
    (850, 854, "ICD-9-CM injury: intracranial"),
    (860, 869, "ICD-9-CM injury: internal"),
    (870, 897, "ICD-9-CM injury: open wound"),
    (900, 904, "ICD-9-CM injury: blood vessels"),
    (905, 909, "ICD-9-CM late effect of injury/poisoning"),
    (910, 919, "ICD-9-CM injury: superficial"),
    (920, 924, "ICD-9-CM injury: contusion"),
    (925, 929, "ICD-9-CM injury: crushing"),
    (930, 939, "ICD-9-CM injury: foreign body"),
    (940, 949, "ICD-9-CM injury: burn"),
    (950, 957, "ICD-9-CM injury: nerves/spinal cord"),
    (958, 959, "ICD-9-CM injury: traumatic complication/unspecified"),
    (960, 979, "ICD-9-CM poisoning by drug"),
    (980, 989, "ICD-9-CM toxic effect (poisoning)"),
    (990, 995, "ICD-9-CM injury: other effects of external causes"),
)
# Weak codes inside 800-995 whose ICD-10-CM counterparts are weak (T80-T88, T36-T50 intent 5).
_ICD9_WEAK_PREFIXES = (
    ("9093", "complication_of_care", "ICD-9-CM late effect of complication of care"),
    ("9095", "adverse_effect", "ICD-9-CM late effect of adverse effect of drug"),
    ("9952", "adverse_effect", "ICD-9-CM adverse effect of drug"),
    ("9954", "complication_of_care", "ICD-9-CM shock due to anesthesia"),
    ("99586", "complication_of_care", "ICD-9-CM malignant hyperthermia (anesthesia)"),
)
_ICD9_E_RANGES = (
    (800, 848, "icd9_ecode", _S, "ICD-9-CM E-code: transport/vehicle accident"),
    (849, 849, "icd9_ecode", _C, "ICD-9-CM E-code: place of occurrence"),
    (850, 869, "icd9_ecode", _S, "ICD-9-CM E-code: accidental poisoning"),
    (870, 879, "complication_of_care", _W, "ICD-9-CM E-code: misadventure/complication of care"),
    (880, 929, "icd9_ecode", _S, "ICD-9-CM E-code: accident"),
    (930, 949, "adverse_effect", _W, "ICD-9-CM E-code: adverse effect of drug"),
    (950, 959, "icd9_ecode", _S, "ICD-9-CM E-code: self-inflicted injury"),
    (960, 969, "icd9_ecode", _S, "ICD-9-CM E-code: assault"),
    (970, 979, "icd9_ecode", _S, "ICD-9-CM E-code: legal intervention/terrorism"),
    (980, 989, "icd9_ecode", _S, "ICD-9-CM E-code: undetermined intent"),
    (990, 999, "icd9_ecode", _S, "ICD-9-CM E-code: war/military operations"),
)


def _classify_icd9(code: str) -> CodeSignal | None:
    if _ICD9_DIGITS.fullmatch(code):
        cat = int(code[:3])
        if cat < 800:
            return None
        if cat >= 996:
            return _signal(
                code,
                ICD9,
                "complication_of_care",
                _W,
                "ICD-9-CM complication of surgical/medical care",
            )
        for prefix, rule, label in _ICD9_WEAK_PREFIXES:
            if code.startswith(prefix):
                return _signal(code, ICD9, rule, _W, label)
        for first, last, label in _ICD9_RANGES:
            if first <= cat <= last:
                return _signal(code, ICD9, "icd9_injury", _S, label)
        return None  # pragma: no cover - ranges cover 800-995
    if _ICD9_ECODE.fullmatch(code):
        cat = int(code[1:4])
        for first, last, rule, strength, label in _ICD9_E_RANGES:
            if first <= cat <= last:
                return _signal(code, ICD9, rule, strength, label)
        return None  # E000-E799: activity/status codes, not external causes of injury
    return None  # V-codes and anything else


# --------------------------------------------------------------------------- code classification


@functools.lru_cache(maxsize=1 << 16)
def _classify(raw: str, code_set: str, era: str) -> CodeSignal | None:
    code = normalize_code(raw)
    if not code:
        return None
    declared = code_set
    if declared == ICD10 and not _ICD10_SHAPE.fullmatch(code):
        declared = ""
    elif declared == ICD9 and not _icd9_shape(code):
        declared = ""
    resolved = declared or _infer_code_set(raw, code, era)
    if resolved == ICD10:
        return _classify_icd10(code)
    if resolved == ICD9:
        return _classify_icd9(code)
    return None


def classify_code(
    code: str, code_set: str = "", service_from: date | None = None
) -> CodeSignal | None:
    """The screening signal of one diagnosis code, or None when it carries no trauma signal."""
    if not isinstance(code, str):
        return None
    return _classify(code, _norm_code_set(code_set), _era(service_from))


def is_trauma_code(code: str, code_set: str = "") -> bool:
    """True when the code is in a trauma range (strong, context or weak/review-level).

    Use :func:`classify_code` for the tier (``adverse_effect`` and ``complication_of_care`` codes
    are trauma codes under 433.138(e) but only go to review).
    """
    return classify_code(code, code_set) is not None


# --------------------------------------------------------------------------- claim-level signals

_ACCIDENT_CODES = {
    "AA": "auto accident",
    "AB": "abuse",
    "AP": "another party responsible",
    "EM": "employment",
    "OA": "other accident",
}
_OCCURRENCE_CODES = {
    "01": "auto accident/medical coverage",
    "02": "no-fault insurance involved",
    "03": "accident/tort liability",
    "04": "accident/employment related",
    "05": "other accident",
    "06": "crime victim",
}
_VALUE_CODES = {
    "14": "no-fault insurance, including auto",
    "15": "workers' compensation",
    "47": "any liability insurance",
}
_TOKEN_SPLIT = re.compile(r"[^0-9A-Za-z]+")


@functools.lru_cache(maxsize=1024)
def _accident_signals(indicator: str) -> tuple[CodeSignal, ...]:
    out: list[CodeSignal] = []
    tokens: list[str] = []
    for token in _TOKEN_SPLIT.split(indicator.upper()):
        pairs = [token[i : i + 2] for i in range(0, len(token), 2)]
        if len(pairs) > 1 and len(token) % 2 == 0 and all(p in _ACCIDENT_CODES for p in pairs):
            tokens.extend(pairs)  # fixed-width "AAEM": CLM11-1..3 run together
        else:
            tokens.append(token)
    for token in tokens:
        label = _ACCIDENT_CODES.get(token)
        if label and not any(s.code == f"accident:{token}" for s in out):
            out.append(
                _signal(
                    f"accident:{token}",
                    "",
                    "accident_indicator",
                    _S,
                    f"claim accident indicator {token} ({label})",
                )
            )
    return tuple(out)


def _ub_code(code: str) -> str:
    token = _TOKEN_SPLIT.split(code.strip().upper(), maxsplit=1)[0] if code else ""
    return token.zfill(2) if len(token) == 1 else token


@functools.lru_cache(maxsize=4096)
def _ub_signals(occurrence: tuple[str, ...], value: tuple[str, ...]) -> tuple[CodeSignal, ...]:
    out: list[CodeSignal] = []
    seen: set[str] = set()
    for kind, codes, table, rule in (
        ("occurrence", occurrence, _OCCURRENCE_CODES, "occurrence_code"),
        ("value", value, _VALUE_CODES, "value_code"),
    ):
        for raw in codes:
            if not isinstance(raw, str):
                continue
            code = _ub_code(raw)
            label = table.get(code)
            key = f"{kind}:{code}"
            if label and key not in seen:
                seen.add(key)
                out.append(_signal(key, "", rule, _S, f"{kind} code {code} ({label})"))
    return tuple(out)


# --------------------------------------------------------------------------- line screening

_NO_HIT = ScreeningResult(
    decision=Decision.NO_HIT,
    rule="no_trauma_signal",
    reason="No trauma diagnosis, accident indicator, occurrence code or value code on the line.",
    opens_case=False,
    matched_codes=(),
)


def _opens_case(signals: Sequence[CodeSignal]) -> bool:
    encounters = {s.encounter for s in signals}
    if "initial" in encounters:
        return True
    return not ({"subsequent", "sequela"} & encounters)


def _evaluate(
    diagnosis_codes: tuple[str, ...],
    code_set: str,
    era: str,
    accident_indicator: str,
    occurrence_codes: tuple[str, ...],
    value_codes: tuple[str, ...],
) -> ScreeningResult:
    strong: list[CodeSignal] = []
    context: list[CodeSignal] = []
    weak: list[CodeSignal] = []
    seen: set[str] = set()
    for raw in diagnosis_codes:
        if not isinstance(raw, str) or not raw:
            continue
        sig = _classify(raw, code_set, era)
        if sig is None or sig.code in seen:
            continue
        seen.add(sig.code)
        if sig.strength is Strength.STRONG:
            strong.append(sig)
        elif sig.strength is Strength.CONTEXT:
            context.append(sig)
        else:
            weak.append(sig)
    claim_level = _accident_signals(accident_indicator)
    if occurrence_codes or value_codes:
        try:
            claim_level += _ub_signals(occurrence_codes, value_codes)
        except TypeError:  # unhashable junk in the tuples: keep only the strings
            claim_level += _ub_signals(_only_str(occurrence_codes), _only_str(value_codes))

    if strong or claim_level:
        deciding = [*strong, *context, *claim_level]
        decision = Decision.INCLUDE
        rule = (strong[0] if strong else claim_level[0]).rule
        head = "Trauma hit: "
        extra = weak
    elif weak:
        deciding = [*weak, *context]
        decision = Decision.REVIEW
        rule = weak[0].rule
        head = "Review (weaker signal, not auto-included): "
        extra = []
    elif context:
        deciding = context
        decision = Decision.INCLUDE
        rule = context[0].rule
        head = "Trauma hit (supplementary external-cause code): "
        extra = []
    else:
        return _NO_HIT

    # Diagnosis codes carry the encounter; claim-level indicators never veto it.
    opens = _opens_case([s for s in deciding if s.code_set])
    return ScreeningResult(
        decision=decision,
        rule=rule,
        reason=_reason(head, deciding, extra, opens),
        opens_case=opens,
        matched_codes=tuple(s.code for s in deciding) + tuple(s.code for s in extra),
    )


_SUBSEQUENT_NOTE = (
    " Subsequent-encounter/sequela codes only: attach to an existing case, do not open one."
)


def _reason(
    head: str, deciding: Sequence[CodeSignal], extra: Sequence[CodeSignal], opens: bool
) -> str:
    """The UI sentence, kept within REASON_MAX_LENGTH: labels are dropped (codes kept) from the
    end of the list until it fits; the hard cut is a last resort."""
    note = "" if opens else _SUBSEQUENT_NOTE
    signals = [*deciding, *extra]
    for labelled in range(len(signals), -1, -1):
        texts = [s.text if i < labelled else s.code for i, s in enumerate(signals)]
        reason = head + "; ".join(texts[: len(deciding)]) + "."
        if extra:
            reason += " Also on the line (review-level): " + "; ".join(texts[len(deciding) :])
            reason += "."
        reason += note
        if len(reason) <= REASON_MAX_LENGTH:
            return reason
    return _fit(reason)


def _fit(text: str) -> str:
    return text if len(text) <= REASON_MAX_LENGTH else text[: REASON_MAX_LENGTH - 1] + "\u2026"


def _as_tuple(value) -> tuple:
    if isinstance(value, tuple):
        return value
    if value is None:
        return ()
    if isinstance(value, str):  # "S8290XA W010XXA" or "01,24" as stored on the claim line
        return tuple(value.replace(",", " ").split())
    try:
        return tuple(value)
    except TypeError:
        return ()


def _only_str(values: tuple) -> tuple[str, ...]:
    return tuple(v for v in values if isinstance(v, str))


def _in_eligibility(day: date, eligibility: Sequence[tuple[date | None, date | None]]) -> bool:
    for span in eligibility:
        start, end = span[0], span[1]
        if (start is None or start <= day) and (end is None or day <= end):
            return True
    return False


def _excluded(result: ScreeningResult, rule: str, reason: str) -> ScreeningResult:
    return ScreeningResult(
        decision=Decision.EXCLUDE,
        rule=rule,
        reason=reason,
        # Kept: an initial-encounter injury before this incident may be a separate case.
        opens_case=result.opens_case,
        matched_codes=result.matched_codes,
    )


def screen_line(
    line: ScreeningInput,
    *,
    incident_date: date | None = None,
    eligibility: Sequence[tuple[date, date | None]] | None = None,
) -> ScreeningResult:
    """Screen one paid claim line. Pass ``incident_date`` when matching against a case."""
    service_from = line.service_from
    result = _evaluate(
        _as_tuple(line.diagnosis_codes),
        _norm_code_set(line.code_set),
        _era(service_from),
        line.accident_indicator if isinstance(line.accident_indicator, str) else "",
        _as_tuple(line.occurrence_codes),
        _as_tuple(line.value_codes),
    )
    if result.decision is Decision.NO_HIT or (incident_date is None and eligibility is None):
        return result
    if service_from is None:
        return ScreeningResult(
            decision=Decision.REVIEW,
            rule="no_service_date",
            reason=_fit(
                "Service date missing: cannot check the incident date or eligibility. "
                + result.reason
            ),
            opens_case=result.opens_case,
            matched_codes=result.matched_codes,
        )
    if incident_date is not None and service_from < incident_date:
        return _excluded(result, "before_incident", "service before incident date")
    if eligibility is not None and not _in_eligibility(service_from, eligibility):
        return _excluded(result, "outside_eligibility", "service outside eligibility")
    return result


def screen_many(
    lines: Iterable[ScreeningInput],
    *,
    incident_date: date | None = None,
    eligibility: Sequence[tuple[date, date | None]] | None = None,
) -> list[ScreeningResult]:
    """Bulk form of :func:`screen_line` (same incident date and eligibility for every line)."""
    if eligibility is not None:
        eligibility = tuple(eligibility)
    screen = screen_line
    return [screen(line, incident_date=incident_date, eligibility=eligibility) for line in lines]


# --------------------------------------------------------------------------- ICD-10-CM look-ups


@functools.cache
def _icd10cm():
    # Parsing the bundled tabular XML takes ~2 s: only on first validate/describe call.
    # The package reads its data with deprecated importlib.resources calls; keep that quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def _icd10_lookup_key(code: str) -> str:
    if not isinstance(code, str):
        return ""
    key = normalize_code(code)
    # Codes only (category/subcategory), never chapters ("19") or blocks ("S00-S09").
    return key if _ICD10_SHAPE.fullmatch(key) else ""


def validate_icd10(code: str) -> bool:
    """True for a real ICD-10-CM category or (billable or not) subcategory, dot optional."""
    key = _icd10_lookup_key(code)
    if not key:
        return False
    cm = _icd10cm()
    return cm.is_valid_item(key) and cm.is_category_or_subcategory(key)


def describe_icd10(code: str) -> str:
    """ICD-10-CM description of the code, "" when the code is unknown."""
    if not validate_icd10(code):
        return ""
    return " ".join(_icd10cm().get_description(_icd10_lookup_key(code)).split())
