"""Trauma screening (42 CFR 433.138(e)) of paid claim lines: pure Python, no database."""

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.screening import (
    REASON_MAX_LENGTH,
    Decision,
    ScreeningInput,
    ScreeningResult,
    classify_code,
    describe_icd10,
    is_trauma_code,
    normalize_code,
    screen_line,
    screen_many,
    validate_icd10,
)

INCIDENT = date(2024, 3, 5)


def line(*codes, code_set="", **kw):
    return ScreeningInput(diagnosis_codes=tuple(codes), code_set=code_set, **kw)


def decide(*codes, code_set="", **kw):
    return screen_line(line(*codes, code_set=code_set, **kw))


# Every ICD-10-CM code used below; test_icd10_fixture_codes_exist checks them against the
# bundled April 2026 code set so that no test leans on a made-up code.
REAL_ICD10 = [
    "S0000XA",  # S00 lower edge
    "S99929S",  # S99 upper edge
    "T07XXXA",
    "T1490XA",
    "T794XXA",  # last strong T category before T80
    "T800XXA",  # T80 lower edge
    "T889XXA",  # T88 upper edge (T88.9, there is no T88.90)
    "T889XXS",
    "T8611",  # transplant rejection, no 7th character
    "T8140XA",
    "T360X1A",  # T36 lower edge
    "T360X5A",
    "T383X1A",
    "T383X1D",
    "T383X2A",
    "T383X3A",
    "T383X4A",
    "T383X5A",
    "T383X6A",
    "T3691XA",  # intent in the 5th character
    "T3695XA",
    "T50Z91A",  # T50 upper edge
    "T50Z95A",
    "T50905A",
    "T510X1A",  # T51 (toxic effects)
    "T6591XA",  # T65 upper edge
    "T7411XA",
    "S8290XA",
    "S8290XD",
    "S8290XS",
    "S82001B",
    "S82001C",
    "S82001K",
    "V0001XA",  # V00 lower edge
    "V4352XA",
    "W010XXA",
    "W010XXD",
    "X838XXA",
    "Y040XXA",
    "Y09",
    "Y838",
    "Y92239",
    "Y92410",
    "Y9301",
    "Y95",
    "Y999",  # Y99 upper edge
    "U071",  # just below V00
    "Z23",
    "Z9181",
    "R51",
    "R519",
    "E860",  # ICD-10-CM dehydration (collides with ICD-9-CM E860)
    "E119",
]


@pytest.mark.parametrize("code", REAL_ICD10)
def test_icd10_fixture_codes_exist(code):
    assert validate_icd10(code), code


# ---------------------------------------------------------------- ICD-10-CM ranges


@pytest.mark.parametrize(
    "code",
    ["S0000XA", "S99929S", "S8290XA", "T07XXXA", "T1490XA", "T794XXA", "T510X1A", "T6591XA"],
)
def test_icd10_injury_range_is_a_hit(code):
    r = decide(code, code_set="ICD10")
    assert r.decision == Decision.INCLUDE
    assert r.rule == "icd10_injury"
    assert r.matched_codes == (code,)
    assert code in r.reason


@pytest.mark.parametrize("code", ["V0001XA", "V4352XA", "W010XXA", "X838XXA", "Y040XXA", "Y09"])
def test_icd10_external_cause_is_a_hit(code):
    r = decide(code, code_set="ICD10")
    assert (r.decision, r.rule) == (Decision.INCLUDE, "icd10_external_cause")


@pytest.mark.parametrize("code", ["Y999", "Y92410", "Y9301"])
def test_supplementary_external_cause_alone_is_a_hit(code):
    # Y99 is the top of V00-Y99; place/activity/status codes have no 7th character.
    r = decide(code)
    assert (r.decision, r.rule) == (Decision.INCLUDE, "icd10_external_cause")
    assert r.opens_case is True


@pytest.mark.parametrize("code", ["R51", "R519", "Z23", "Z9181", "U071", "E119", "I10"])
def test_non_trauma_icd10_is_no_hit(code):
    r = decide(code, code_set="ICD10")
    assert r.decision == Decision.NO_HIT
    assert r.rule == "no_trauma_signal"
    assert r.matched_codes == ()
    assert not is_trauma_code(code, "ICD10")


def test_range_edges_by_category():
    # T89-T99 and S/T-shaped codes past T88 are not in ICD-10-CM: just outside S00-T88.
    assert not is_trauma_code("T89", "ICD10")
    assert not is_trauma_code("R99", "ICD10")
    assert is_trauma_code("S00", "ICD10")
    assert is_trauma_code("T88", "ICD10")
    assert is_trauma_code("V00", "ICD10")
    assert is_trauma_code("Y99", "ICD10")
    assert not is_trauma_code("Z00", "ICD10")


def test_reason_fits_the_claim_line_column_and_names_every_code():
    many = ["S8290XA", "S0000XA", "W010XXA", "V4352XA", "T510X1A", "X838XXA", "Y040XXA"]
    weak = ["T383X5A", "T8140XA", "T50905A", "T889XXA"]
    r = decide(*many, *weak, "Y92410", accident_indicator="AA,EM", occurrence_codes=("01", "04"))
    assert len(r.reason) <= REASON_MAX_LENGTH == 300
    assert r.reason.startswith("Trauma hit: S8290XA (ICD-10-CM injury, initial encounter)")
    for code in [*many, *weak]:
        assert code in r.reason


def test_codes_given_as_a_string_are_split():
    # ClaimLine stores diagnosis codes space-separated.
    assert screen_line(ScreeningInput("R51 S8290XA")).matched_codes == ("S8290XA",)
    r = screen_line(ScreeningInput("R51 S8290XA", occurrence_codes="24,01"))
    assert r.matched_codes == ("S8290XA", "occurrence:01")


def test_reason_names_code_and_encounter():
    r = decide("S82.90XA")
    assert r.reason == "Trauma hit: S8290XA (ICD-10-CM injury, initial encounter)."


# ---------------------------------------------------------------- weak signals -> review


@pytest.mark.parametrize("code", ["T383X5A", "T360X5A", "T50Z95A", "T50905A", "T3695XA"])
def test_adverse_effect_goes_to_review(code):
    r = decide(code)
    assert (r.decision, r.rule) == (Decision.REVIEW, "adverse_effect")
    assert "adverse effect" in r.reason


def test_underdosing_goes_to_review():
    r = decide("T383X6A")
    assert (r.decision, r.rule) == (Decision.REVIEW, "adverse_effect")
    assert "underdosing" in r.reason


@pytest.mark.parametrize(
    "code", ["T360X1A", "T383X1A", "T383X2A", "T383X3A", "T383X4A", "T3691XA", "T50Z91A"]
)
def test_drug_poisoning_is_a_hit(code):
    r = decide(code)
    assert (r.decision, r.rule) == (Decision.INCLUDE, "icd10_injury")
    assert "poisoning" in r.reason


def test_truncated_drug_code_without_intent_goes_to_review():
    r = decide("T383")
    assert (r.decision, r.rule) == (Decision.REVIEW, "drug_intent_unknown")


@pytest.mark.parametrize("code", ["T800XXA", "T8140XA", "T889XXA", "T889XXS", "T8611"])
def test_complication_of_care_goes_to_review(code):
    r = decide(code, code_set="ICD10")
    assert (r.decision, r.rule) == (Decision.REVIEW, "complication_of_care")
    assert is_trauma_code(code, "ICD10")  # in the trauma range, but only review-level


def test_y_code_complication_of_care_goes_to_review():
    assert decide("Y838").rule == "complication_of_care"
    assert decide("Y95").decision == Decision.REVIEW


def test_place_code_does_not_lift_a_complication_to_include():
    r = decide("T8140XA", "Y92239")
    assert (r.decision, r.rule) == (Decision.REVIEW, "complication_of_care")
    assert r.matched_codes == ("T8140XA", "Y92239")


def test_strong_and_weak_on_one_line_is_include():
    r = decide("T383X5A", "S8290XA")
    assert (r.decision, r.rule) == (Decision.INCLUDE, "icd10_injury")
    assert r.matched_codes[0] == "S8290XA"
    assert "T383X5A" in r.reason  # the weak code is still shown to the specialist


def test_weak_diagnosis_with_accident_indicator_is_include():
    r = decide("T8140XA", accident_indicator="AA")
    assert (r.decision, r.rule) == (Decision.INCLUDE, "accident_indicator")


# ---------------------------------------------------------------- 7th character


@pytest.mark.parametrize(
    ("code", "opens"),
    [
        ("S8290XA", True),
        ("S82001B", True),  # initial encounter, open fracture
        ("S82001C", True),
        ("S8290XD", False),
        ("S82001K", False),  # subsequent encounter, nonunion
        ("S8290XS", False),
        ("T383X1A", True),  # poisoning codes carry the 7th character too
        ("T383X1D", False),
        ("W010XXD", False),
        ("T8611", True),  # no 7th character
    ],
)
def test_seventh_character_decides_opens_case(code, opens):
    r = decide(code)
    assert r.decision in (Decision.INCLUDE, Decision.REVIEW)
    assert r.opens_case is opens


def test_subsequent_code_is_still_a_hit():
    r = decide("S8290XD", "W010XXD")
    assert r.decision == Decision.INCLUDE
    assert r.opens_case is False
    assert "existing case" in r.reason


def test_any_initial_code_opens_a_case():
    assert decide("S8290XD", "W010XXA").opens_case is True


def test_code_without_7th_char_does_not_override_subsequent():
    assert decide("S8290XD", "Y92410").opens_case is False


def test_icd9_and_indicator_hits_may_open_a_case():
    assert decide("8470", code_set="ICD9").opens_case is True
    assert decide("R51", accident_indicator="AA").opens_case is True


# ---------------------------------------------------------------- ICD-9-CM


@pytest.mark.parametrize("code", ["800", "8000", "80000", "8470", "9599", "9950", "99580"])
def test_icd9_injury_range_is_a_hit(code):
    r = decide(code, code_set="ICD9")
    assert (r.decision, r.rule) == (Decision.INCLUDE, "icd9_injury")
    assert is_trauma_code(code, "ICD9")


@pytest.mark.parametrize("code", ["996", "9960", "999", "9999", "9093"])
def test_icd9_complications_go_to_review(code):
    r = decide(code, code_set="ICD9")
    assert (r.decision, r.rule) == (Decision.REVIEW, "complication_of_care")
    assert is_trauma_code(code, "ICD9")


def test_icd9_adverse_effect_of_drug_goes_to_review():
    assert decide("99529", code_set="ICD9").rule == "adverse_effect"


@pytest.mark.parametrize("code", ["799", "7999", "4019", "25000"])
def test_icd9_below_800_is_no_hit(code):
    assert decide(code, code_set="ICD9").decision == Decision.NO_HIT


@pytest.mark.parametrize(
    "code", ["E800", "E8000", "E8190", "E8889", "E8500", "E9600", "E999", "E9990"]
)
def test_icd9_ecode_is_a_hit(code):
    r = decide(code, code_set="ICD9")
    assert (r.decision, r.rule) == (Decision.INCLUDE, "icd9_ecode")


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("E8700", "complication_of_care"),
        ("E8788", "complication_of_care"),
        ("E8790", "complication_of_care"),
        ("E9300", "adverse_effect"),
        ("E9342", "adverse_effect"),
        ("E9499", "adverse_effect"),
    ],
)
def test_icd9_misadventure_and_adverse_effect_ecodes_go_to_review(code, rule):
    r = decide(code, code_set="ICD9")
    assert (r.decision, r.rule) == (Decision.REVIEW, rule)


def test_icd9_ecode_with_icd9_injury_is_include():
    assert decide("9992", "E8788", "8470", code_set="ICD9").decision == Decision.INCLUDE


@pytest.mark.parametrize("code", ["E799", "E0009", "E0300"])
def test_icd9_ecodes_below_e800_are_no_hit(code):
    assert decide(code, code_set="ICD9").decision == Decision.NO_HIT


@pytest.mark.parametrize("code_set", ["ICD9", ""])
@pytest.mark.parametrize("code", ["V5789", "V4364", "V0382", "V01"])
def test_icd9_v_codes_are_not_external_causes(code, code_set):
    assert decide(code, code_set=code_set).decision == Decision.NO_HIT
    assert not is_trauma_code(code, code_set)


def test_code_set_qualifier_wins_for_ambiguous_shapes():
    # Same characters, different code sets.
    assert decide("E860", code_set="ICD9").decision == Decision.INCLUDE  # accidental poisoning
    assert decide("E860", code_set="ICD10").decision == Decision.NO_HIT  # dehydration
    assert decide("V4352", code_set="ICD10").rule == "icd10_external_cause"
    assert decide("V4352", code_set="ICD9").decision == Decision.NO_HIT


def test_code_set_aliases():
    assert decide("E860", code_set="icd-10-cm").decision == Decision.NO_HIT
    assert decide("E860", code_set="ABF").decision == Decision.NO_HIT
    assert decide("E860", code_set="BF").decision == Decision.INCLUDE
    assert decide("E860", code_set="9").decision == Decision.INCLUDE


def test_impossible_shape_for_declared_code_set_is_inferred():
    assert decide("8470", code_set="ICD10").rule == "icd9_injury"
    assert decide("S8290XA", code_set="ICD9").rule == "icd10_injury"


# ---------------------------------------------------------------- code-set inference


def test_inference_by_shape():
    assert decide("8470").rule == "icd9_injury"
    assert decide("E8190").rule == "icd9_ecode"
    assert decide("S8290XA").rule == "icd10_injury"
    assert decide("V4352XA").rule == "icd10_external_cause"


def test_inference_of_e_codes_uses_dot_then_service_date():
    assert decide("E86.0").decision == Decision.NO_HIT  # ICD-10-CM position of the dot
    assert decide("E860.0").rule == "icd9_ecode"
    assert decide("E860", service_from=date(2020, 1, 1)).decision == Decision.NO_HIT
    assert decide("E860", service_from=date(2015, 9, 30)).rule == "icd9_ecode"
    assert decide("E860").rule == "icd9_ecode"  # no qualifier, no date: ICD-9 E-code


def test_classify_code_reports_tier():
    assert classify_code("T383X5A").strength == "weak"
    assert classify_code("S8290XA").strength == "strong"
    assert classify_code("Y92410").strength == "context"
    assert classify_code("R51") is None


# ---------------------------------------------------------------- claim-level indicators


@pytest.mark.parametrize(
    "indicator", ["AA", "AB", "AP", "EM", "OA", "aa", "AA,EM", "EM AA", "AA:::NY", "AAEM"]
)
def test_accident_indicator_is_a_hit(indicator):
    r = decide("R51", accident_indicator=indicator)
    assert (r.decision, r.rule) == (Decision.INCLUDE, "accident_indicator")
    assert r.opens_case is True


def test_accident_indicator_lists_each_code():
    r = decide("R51", accident_indicator="AA,EM")
    assert r.matched_codes == ("accident:AA", "accident:EM")
    assert "auto accident" in r.reason and "employment" in r.reason


@pytest.mark.parametrize("indicator", ["", " ", "N", "Y", "XX", "NY"])
def test_empty_or_unknown_accident_indicator_is_no_hit(indicator):
    assert decide("R51", accident_indicator=indicator).decision == Decision.NO_HIT


@pytest.mark.parametrize("code", ["01", "02", "03", "04", "05", "06", "1", "6"])
def test_occurrence_codes_01_to_06_are_hits(code):
    r = decide("R51", occurrence_codes=(code,))
    assert (r.decision, r.rule) == (Decision.INCLUDE, "occurrence_code")


@pytest.mark.parametrize("code", ["07", "00", "11", "24", "A1", ""])
def test_other_occurrence_codes_are_no_hit(code):
    assert decide("R51", occurrence_codes=(code,)).decision == Decision.NO_HIT


@pytest.mark.parametrize("code", ["14", "15", "47"])
def test_value_codes_14_15_47_are_hits(code):
    r = decide("R51", value_codes=(code,))
    assert (r.decision, r.rule) == (Decision.INCLUDE, "value_code")
    assert r.matched_codes == (f"value:{code}",)


@pytest.mark.parametrize("code", ["13", "16", "46", "48", "80", "01"])
def test_other_value_codes_are_no_hit(code):
    assert decide("R51", value_codes=(code,)).decision == Decision.NO_HIT


def test_diagnosis_rule_wins_over_claim_level_rule():
    r = decide("R51", "S8290XA", accident_indicator="AA", occurrence_codes=("01",))
    assert r.rule == "icd10_injury"
    assert r.matched_codes == ("S8290XA", "accident:AA", "occurrence:01")


# ---------------------------------------------------------------- date window


ELIGIBLE = [(date(2024, 1, 1), date(2024, 6, 30)), (date(2024, 9, 1), None)]


def case_line(service_from, *codes):
    return screen_line(
        line(*(codes or ("S8290XA",)), service_from=service_from),
        incident_date=INCIDENT,
        eligibility=ELIGIBLE,
    )


def test_service_before_incident_is_excluded():
    r = case_line(date(2024, 3, 4))
    assert r.decision == Decision.EXCLUDE
    assert r.rule == "before_incident"
    assert r.reason == "service before incident date"
    assert r.matched_codes == ("S8290XA",)


def test_service_on_incident_date_is_included():
    assert case_line(INCIDENT).decision == Decision.INCLUDE


def test_review_line_before_incident_is_excluded():
    assert case_line(date(2024, 3, 1), "T383X5A").rule == "before_incident"


def test_service_outside_eligibility_is_excluded():
    r = case_line(date(2024, 7, 1))  # gap between spans
    assert (r.decision, r.rule) == (Decision.EXCLUDE, "outside_eligibility")
    assert "outside eligibility" in r.reason


def test_eligibility_span_ends_are_inclusive():
    assert case_line(date(2024, 6, 30)).decision == Decision.INCLUDE
    assert case_line(date(2024, 9, 1)).decision == Decision.INCLUDE


def test_open_ended_eligibility_span():
    assert case_line(date(2031, 12, 31)).decision == Decision.INCLUDE


def test_no_eligibility_spans_means_outside_eligibility():
    r = screen_line(line("S8290XA", service_from=INCIDENT), incident_date=INCIDENT, eligibility=[])
    assert r.rule == "outside_eligibility"


def test_feed_screening_skips_incident_check():
    r = screen_line(line("S8290XA", service_from=date(2000, 1, 1)))
    assert r.decision == Decision.INCLUDE
    r = screen_line(line("S8290XA", service_from=date(2000, 1, 1)), eligibility=ELIGIBLE)
    assert r.rule == "outside_eligibility"


def test_no_hit_line_stays_no_hit_in_a_case():
    assert case_line(date(2024, 1, 2), "R51").decision == Decision.NO_HIT


def test_missing_service_date_in_a_case_goes_to_review():
    r = screen_line(line("S8290XA"), incident_date=INCIDENT)
    assert (r.decision, r.rule) == (Decision.REVIEW, "no_service_date")


def test_screen_many_matches_screen_line():
    lines = [
        line("S8290XA", service_from=date(2024, 3, 4)),
        line("S8290XA", service_from=date(2024, 3, 6)),
        line("R51", service_from=date(2024, 3, 6)),
        line("T383X5A", service_from=date(2024, 7, 2)),
    ]
    got = screen_many(iter(lines), incident_date=INCIDENT, eligibility=iter(ELIGIBLE))
    want = [screen_line(x, incident_date=INCIDENT, eligibility=ELIGIBLE) for x in lines]
    assert got == want
    assert [r.decision for r in got] == ["exclude", "include", "no_hit", "exclude"]


# ---------------------------------------------------------------- ICD-10-CM look-ups


@pytest.mark.parametrize(
    "code", ["S8290XA", "S82.90XA", "s82.90xa", " S82.90XA ", "S82", "R51", "R519"]
)
def test_validate_icd10_real_codes(code):
    assert validate_icd10(code)


@pytest.mark.parametrize(
    "code", ["T8890XA", "S8290XZ", "ABC123", "S00-S09", "19", "", "8470", "E8190"]
)
def test_validate_icd10_rejects_unknown(code):
    assert not validate_icd10(code)


def test_describe_icd10():
    assert describe_icd10("S82.90XA") == (
        "Unspecified fracture of unspecified lower leg, initial encounter for closed fracture"
    )
    assert describe_icd10("r51") == "Headache"
    assert describe_icd10("T8890XA") == ""
    assert describe_icd10("not a code") == ""


def test_importing_screening_does_not_load_icd10_data():
    code = "import sys, cases.screening; print('simple_icd_10_cm' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- properties


def test_normalize_code_examples():
    assert normalize_code(" s82.90xa ") == "S8290XA"
    assert normalize_code("E860.0") == "E8600"
    assert normalize_code("") == ""


@given(st.text())
def test_normalize_code_is_idempotent(code):
    once = normalize_code(code)
    assert normalize_code(once) == once
    assert "." not in once and not any(ch.isspace() for ch in once)


codes = st.one_of(
    st.text(max_size=12),
    st.sampled_from(REAL_ICD10 + ["8470", "E8190", "V5789", "E860.0", "T383", "9999"]),
)


@given(
    diagnosis=st.lists(codes, max_size=14),
    code_set=st.one_of(st.sampled_from(["", "ICD10", "ICD9", "0", "9", "BK"]), st.text(max_size=6)),
    accident=st.text(max_size=12),
    occurrence=st.lists(st.text(max_size=4), max_size=3),
    value=st.lists(st.text(max_size=4), max_size=3),
    service_from=st.one_of(st.none(), st.dates()),
    incident=st.one_of(st.none(), st.dates()),
    spans=st.one_of(
        st.none(), st.lists(st.tuples(st.dates(), st.one_of(st.none(), st.dates())), max_size=3)
    ),
)
def test_screen_line_never_raises(
    diagnosis, code_set, accident, occurrence, value, service_from, incident, spans
):
    inp = ScreeningInput(
        tuple(diagnosis), code_set, accident, tuple(occurrence), tuple(value), service_from
    )
    r = screen_line(inp, incident_date=incident, eligibility=spans)
    assert isinstance(r, ScreeningResult)
    assert r.decision in set(Decision)
    assert 0 < len(r.reason) <= REASON_MAX_LENGTH
    assert (r.decision == Decision.NO_HIT) == (r.matched_codes == ())
    if r.decision in (Decision.INCLUDE, Decision.REVIEW) and incident and service_from:
        assert service_from >= incident
