"""cases.x12: reading 835/837 files through pyx12. Pure Python, no database.

The expected values were read by hand from the files in tests/fixtures/x12 (LinuxForHealth/x12
test resources, Apache-2.0; see README.md and LICENSE there). Segment numbers count the ISA
as 1. These files have one segment per line, so the numbers are also line numbers.
"""

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cases.x12 import ParsedClaimLine, Reject, detect_format, parse_x12

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x12"


# tests/conftest.py's autouse settings fixture is not needed here: these tests are pure Python.
@pytest.fixture(autouse=True)
def _fast_settings():
    yield


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def replaced(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, f"{old!r} must occur exactly once"
    return data.replace(old, new)


def no_st03(result) -> list[str]:
    return [w for w in result.warnings if "has no ST03 implementation reference" in w]


# --------------------------------------------------------------------------------------------
# Every fixture
# --------------------------------------------------------------------------------------------

EXPECTED = {
    # name: (transaction, accepted lines, rejects)
    "cob-contractural-adjustment.835": ("835", 1, 0),
    "managed-care.835": ("835", 2, 0),
    "medicare-part-a.835": ("835", 2, 0),
    "secondary-payment.835": ("835", 3, 0),
    "tertiary-payment.835": ("835", 0, 1),
    "demo.autoaccident.837": ("837", 2, 0),
    "demo.example1.837": ("837", 4, 0),
    "institutional-claim.837i": ("837", 2, 0),
}


def test_fixture_folder_is_complete():
    files = {p.name for p in FIXTURES.iterdir()}
    assert files == set(EXPECTED) | {"README.md", "LICENSE"}
    assert "Apache License" in (FIXTURES / "LICENSE").read_text()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_parses(name):
    transaction, n_lines, n_rejects = EXPECTED[name]
    result = parse_x12(fixture(name))
    assert result.transaction == transaction
    assert len(result.lines) == n_lines
    assert len(result.rejects) == n_rejects
    assert detect_format(fixture(name)) == transaction
    for line in result.lines:
        assert isinstance(line, ParsedClaimLine)
        for amount in (line.billed_amount, line.allowed_amount, line.paid_amount):
            if amount is not None:
                assert isinstance(amount, Decimal)
                assert amount.as_tuple().exponent == -2
        assert line.service_from is not None
        if transaction == "837":
            assert line.paid_amount is None and line.paid_date is None
        else:
            assert line.diagnosis_codes == () and line.paid_amount is not None


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.endswith(".835")))
def test_835_without_st03_is_accepted_with_a_warning(name):
    # ST*835*0001 has no ST03. The fixture README says one 835 leaves it out; in fact all five
    # do, and all five are read.
    result = parse_x12(fixture(name))
    assert no_st03(result) == [
        "ST segment at segment 3 has no ST03 implementation reference "
        "(GS08 '005010X221A1' applies instead)"
    ]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if ".837" in n))
def test_837_with_st03_has_no_st03_warning(name):
    assert no_st03(parse_x12(fixture(name))) == []


# --------------------------------------------------------------------------------------------
# 837 professional / institutional
# --------------------------------------------------------------------------------------------


def test_auto_accident_837_whole_line():
    result = parse_x12(fixture("demo.autoaccident.837"))
    first, second = result.lines
    assert first == ParsedClaimLine(
        source_line=35,  # LX*1
        claim_number="900000032",
        payer_claim_number="",
        line_number=1,
        member_id="B99977791G",  # subscriber NM1*IL
        member_last_name="DIMPSON",  # the patient (2000C NM1*QC) received the care
        member_first_name="DJ",
        member_dob=date(1948, 6, 1),  # patient DMG
        provider_npi="2366552595",  # rendering NM1*82 beats billing NM1*85
        provider_name="MOGLIE, BRUNO",
        service_from=date(2005, 10, 31),
        service_to=date(2005, 10, 31),
        procedure_code="99201",
        modifiers=(),
        diagnosis_codes=("8540",),
        diagnosis_code_set="ICD9",
        billed_amount=Decimal("150.00"),
        allowed_amount=None,
        paid_amount=None,
        paid_date=None,
        accident_indicator="AA",
        accident_state="CA",
        accident_date=date(2005, 10, 31),
        occurrence_codes=(),
        value_codes=(),
    )
    assert (second.line_number, second.procedure_code, second.billed_amount) == (
        2,
        "26010",
        Decimal("35.00"),
    )
    assert second.accident_indicator == "AA" and second.diagnosis_codes == ("8540",)
    assert any("NM1*QC at segment 19" in w and "not the subscriber" in w for w in result.warnings)


def test_professional_837_icd9_codes_and_dates():
    lines = parse_x12(fixture("demo.example1.837")).lines
    assert [
        (ln.line_number, ln.procedure_code, ln.billed_amount, ln.service_from) for ln in lines
    ] == [
        (1, "99213", Decimal("40.00"), date(2006, 10, 3)),
        (2, "87070", Decimal("15.00"), date(2006, 10, 3)),
        (3, "99214", Decimal("35.00"), date(2006, 10, 10)),
        (4, "86663", Decimal("10.00"), date(2006, 10, 10)),
    ]
    assert [ln.source_line for ln in lines] == [30, 33, 36, 39]
    line = lines[0]
    assert line.claim_number == "26463774"
    assert line.diagnosis_codes == ("0340", "V7389")  # HI*BK:0340*BF:V7389, principal first
    assert line.diagnosis_code_set == "ICD9"
    assert (line.member_id, line.member_last_name, line.member_first_name) == (
        "JS00111223333",
        "SMITH",
        "TED",
    )
    assert line.member_dob == date(1973, 5, 1)
    # No rendering provider: the billing provider (NM1*85, XX) is used.
    assert (line.provider_npi, line.provider_name) == ("1912301953", "BEN KILDARE SERVICE")
    assert line.accident_indicator == "" and line.accident_date is None


def test_institutional_837():
    lines = parse_x12(fixture("institutional-claim.837i")).lines
    assert [(ln.procedure_code, ln.billed_amount) for ln in lines] == [
        ("85025", Decimal("13.39")),  # SV2*0305*HC:85025: the HCPCS wins over revenue code
        ("93005", Decimal("76.54")),
    ]
    line = lines[0]
    assert line.claim_number == "756048Q"
    assert line.diagnosis_codes == ("3669", "4019", "79431")
    assert line.diagnosis_code_set == "ICD9"
    assert line.service_from == line.service_to == date(1996, 9, 11)
    assert line.occurrence_codes == ("A1", "A2", "B1", "B2")  # HI*BH
    assert "09" not in line.occurrence_codes  # HI*BG:09 is a condition code
    assert line.value_codes == ("A2",)  # HI*BE
    # The member is the 2010BA subscriber, not the other payer's subscriber in loop 2330A
    # (NM1*IL*1*DOE*JANE after SBR*S).
    assert (line.member_id, line.member_first_name, line.member_dob) == (
        "030005074A",
        "JON",
        date(1926, 11, 11),
    )
    assert (line.provider_npi, line.provider_name) == ("9876540809", "JONES HOSPITAL")


def test_837_revenue_code_when_no_hcpcs():
    data = replaced(fixture("institutional-claim.837i"), b"SV2*0305*HC:85025*", b"SV2*0305**")
    assert parse_x12(data).lines[0].procedure_code == "0305"


def test_837_icd10_codes_lose_dots_and_payer_claim_number():
    data = replaced(
        fixture("demo.example1.837"),
        b"HI*BK:0340*BF:V7389~",
        b"HI*ABK:s82.101a*ABF:V43.52XA*ABF:S82.101A~",
    )
    data = replaced(data, b"REF*D9*17312345600006351~", b"REF*F8*PAYER-77~")
    line = parse_x12(data).lines[0]
    assert line.diagnosis_codes == ("S82101A", "V4352XA")  # upper case, no dots, no repeats
    assert line.diagnosis_code_set == "ICD10"
    assert line.payer_claim_number == "PAYER-77"


def test_837_statement_period_when_line_has_no_date():
    data = replaced(
        fixture("institutional-claim.837i"),
        b"DTP*434*D8*19960911~",
        b"DTP*434*RD8*19960901-19960912~",
    )
    data = data.replace(b"DTP*472*D8*19960911~\n", b"")
    line = parse_x12(data).lines[0]
    assert (line.service_from, line.service_to) == (date(1996, 9, 1), date(1996, 9, 12))


# --------------------------------------------------------------------------------------------
# 835 remittance advice
# --------------------------------------------------------------------------------------------


def test_cob_835_whole_line():
    result = parse_x12(fixture("cob-contractural-adjustment.835"))
    assert result.lines == [
        ParsedClaimLine(
            source_line=21,  # SVC
            claim_number="0001000055",
            payer_claim_number="50650619501",
            line_number=1,
            member_id="987654321",
            member_last_name="BURCK",
            member_first_name="RAYMOND",
            member_dob=None,
            # NM1*82 has a BS (payer-assigned) number and N1*PE a tax id: no NPI in the file.
            provider_npi="",
            provider_name="PROFESSIONAL TEST 1",
            service_from=date(2005, 2, 2),
            service_to=date(2005, 2, 2),
            procedure_code="55669",  # SVC*HC>55669 although ISA16 is ":"
            modifiers=(),
            diagnosis_codes=(),
            diagnosis_code_set="",
            billed_amount=Decimal("541.00"),
            allowed_amount=Decimal("550.00"),  # AMT*B6
            paid_amount=Decimal("34.00"),
            paid_date=date(2005, 3, 18),
            accident_indicator="",
            accident_state="",
            accident_date=None,
            occurrence_codes=(),
            value_codes=(),
        )
    ]
    assert any("SVC01 at segment 21 uses '>'" in w for w in result.warnings)
    # BPR*I*34.00*C*CHK***********20050318 has 15 elements, so there is no BPR16.
    assert any("no BPR16" in w and "DTM*405" in w for w in result.warnings)


def test_managed_care_835():
    result = parse_x12(fixture("managed-care.835"))
    first, second = result.lines
    assert (first.claim_number, first.payer_claim_number) == ("5554555444", "94060555410000")
    assert (first.procedure_code, first.billed_amount, first.paid_amount) == (
        "99211",
        Decimal("800.00"),
        Decimal("500.00"),
    )
    assert first.allowed_amount is None
    assert (first.service_from, first.service_to) == (date(2002, 3, 1), date(2002, 3, 4))  # 150/151
    assert (first.member_id, first.member_last_name) == ("33344555510", "BUDD")
    assert (first.provider_npi, first.provider_name) == ("5544667733", "ACME MEDICAL CENTER")
    assert (second.claim_number, second.procedure_code, second.paid_amount) == (
        "8765432112",
        "93555",
        Decimal("550.00"),
    )
    # BPR16 "20002316" is not a date: the DTM*405 date is used instead, with a warning.
    assert first.paid_date == second.paid_date == date(2002, 3, 14)
    assert any("BPR16 '20002316' at segment 4 is not a valid date" in w for w in result.warnings)


def test_medicare_part_a_claims_without_service_lines():
    result = parse_x12(fixture("medicare-part-a.835"))
    first, second = result.lines
    assert (first.source_line, first.claim_number, first.payer_claim_number) == (
        15,
        "666123",
        "1999999444444",
    )
    assert (first.billed_amount, first.paid_amount) == (Decimal("211366.97"), Decimal("138018.40"))
    assert (first.service_from, first.service_to) == (date(2002, 8, 16), date(2002, 8, 24))
    assert first.procedure_code == ""
    assert (first.member_id, first.member_last_name) == ("666666666A", "JONES")
    assert (first.provider_npi, first.provider_name) == ("6543210903", "REGIONAL HOPE HOSPITAL")
    assert first.paid_date == date(2002, 9, 13)  # BPR16
    assert (second.claim_number, second.paid_amount) == ("777777", Decimal("11980.33"))
    assert (second.service_from, second.service_to) == (date(2002, 5, 12), None)  # no DTM*233
    assert any("has no SVC service lines" in w for w in result.warnings)


def test_secondary_payment_835_modifiers_and_allowed():
    lines = parse_x12(fixture("secondary-payment.835")).lines
    assert [
        (ln.claim_number, ln.line_number, ln.procedure_code, ln.modifiers, ln.paid_amount)
        for ln in lines
    ] == [
        ("L0004828311", 1, "", (), Decimal("912.00")),  # claim-level only
        ("0001000053", 1, "12345", ("26",), Decimal("30.00")),
        ("0001000053", 2, "66543", ("26",), Decimal("280.00")),
    ]
    assert [ln.allowed_amount for ln in lines] == [None, Decimal("150.00"), Decimal("500.00")]
    assert [ln.billed_amount for ln in lines] == [
        Decimal("10323.64"),
        Decimal("166.50"),
        Decimal("585.00"),
    ]
    assert lines[1].service_from == date(2005, 1, 6)
    assert lines[1].member_id == "456789123"
    assert lines[1].provider_name == "SMITH JONES PA" and lines[1].provider_npi == ""


def test_tertiary_835_shifted_svc_is_rejected():
    # SVC*HC*24599.00*1766.50*187.50**1: SVC01 is a bare qualifier and the amounts are shifted.
    result = parse_x12(fixture("tertiary-payment.835"))
    assert result.lines == []
    [reject] = result.rejects
    assert reject.line == 20
    assert "835 claim 0001000054 (CLP at segment 16)" in reject.reason
    assert "SVC01 'HC' has no procedure code" in reject.reason


def test_835_corrected_insured_overrides_patient():
    data = replaced(
        fixture("cob-contractural-adjustment.835"),
        b"NM1*QC*1*BURCK*RAYMOND*W***MI*987654321~",
        b"NM1*QC*1*BURCK*RAYMOND*W***MI*987654321~\nNM1*74*1*BURCKE*****C*111222333~",
    )
    line = parse_x12(data).lines[0]
    assert (line.member_id, line.member_last_name, line.member_first_name) == (
        "111222333",
        "BURCKE",
        "RAYMOND",
    )


# --------------------------------------------------------------------------------------------
# Damaged files
# --------------------------------------------------------------------------------------------


def test_truncated_837_keeps_the_closed_lines():
    data = fixture("demo.example1.837")
    data = data[: data.index(b"SV1*HC:99214") + len(b"SV1*HC:992")]  # cut inside segment 37
    result = parse_x12(data)
    assert [ln.procedure_code for ln in result.lines] == ["99213", "87070"]
    assert [r.line for r in result.rejects] == [36, 37, 37]
    assert "service line 3 (segment 36)" in result.rejects[0].reason
    assert "breaks off inside this line" in result.rejects[0].reason
    assert "segment 37 is cut off" in result.rejects[1].reason
    assert "'SV1*HC:992'" in result.rejects[1].reason
    assert "no SE trailer" in result.rejects[2].reason


def test_truncated_835_keeps_earlier_claims():
    data = fixture("secondary-payment.835")
    data = data[: data.index(b"DTM*472*20050106~\nCAS*PR")]  # ends after the 2nd SVC (segment 34)
    result = parse_x12(data)
    assert [(ln.claim_number, ln.line_number) for ln in result.lines] == [
        ("L0004828311", 1),
        ("0001000053", 1),
    ]
    assert [r.line for r in result.rejects] == [34, 35]


def test_garbled_lines_are_rejected_and_the_rest_is_read():
    data = replaced(fixture("demo.example1.837"), b"SV1*HC:87070*15.00*", b"SV1*HC:87070*1S.00*")
    data = replaced(
        data, b"DTP*472*D8*20061010~\nLX*4", b"DTP*472*D8*20061310~\nLX*4"
    )  # month 13, segment 38
    result = parse_x12(data)
    assert [ln.procedure_code for ln in result.lines] == ["99213", "86663"]
    assert result.rejects == [
        Reject(
            line=33,
            reason="837 claim 26463774 (CLM at segment 27), service line 2 (segment 33): SV1 at "
            "segment 34: SV102 (billed) '1S.00' is not an amount; line not imported",
        ),
        Reject(
            line=36,
            reason="837 claim 26463774 (CLM at segment 27), service line 3 (segment 36): DTP*472 "
            "at segment 38 has an invalid date '20061310'; line not imported",
        ),
    ]


def test_garbled_835_paid_amount_is_rejected():
    data = replaced(fixture("secondary-payment.835"), b"*585.00*280.00*", b"*585.00*28O.00*")
    result = parse_x12(data)
    assert len(result.lines) == 2
    [reject] = result.rejects
    assert reject.line == 34 and "SVC03 (paid) '28O.00' is not an amount" in reject.reason


def test_835_line_without_any_date_is_rejected():
    data = fixture("tertiary-payment.835")
    data = replaced(data, b"SVC*HC*24599.00*1766.50*187.50**1~", b"SVC*HC:24599*1766.50*187.50~")
    data = replaced(data, b"DTM*232*20050120~\n", b"")
    data = replaced(data, b"DTM*472*20050120~\n", b"")
    [reject] = parse_x12(data).rejects
    assert reject.line == 19 and "no service date" in reject.reason


def test_odd_line_breaks_are_tolerated():
    original = parse_x12(fixture("demo.example1.837")).lines
    flat = fixture("demo.example1.837").replace(b"\n", b"")
    wrapped = b"\n".join(flat[i : i + 80] for i in range(0, len(flat), 80))  # breaks mid-ISA too
    result = parse_x12(wrapped)
    assert result.lines == original
    assert (
        "line breaks inside segments were removed (the first one in segment 1)" in result.warnings
    )
    assert parse_x12(fixture("demo.example1.837").replace(b"\n", b"\r\n")).lines == original
    assert parse_x12(flat).lines == original


def test_newline_terminated_file_without_final_newline():
    data = fixture("demo.example1.837").replace(b"~\n", b"~").replace(b"~", b"\n").rstrip(b"\n")
    result = parse_x12(data)
    assert len(result.lines) == 4 and result.rejects == []
    assert "the final IEA segment has no segment terminator '\\n'; accepted" in result.warnings


def test_empty_segment_does_not_stop_the_reader():
    # pyx12's raw reader stops at an empty segment; the rest of the file must still be read.
    data = replaced(fixture("demo.example1.837"), b"LX*2~", b"~LX*2~")
    result = parse_x12(data)
    assert len(result.lines) == 4
    assert [ln.source_line for ln in result.lines] == [30, 34, 37, 40]
    assert "segment 33 is empty; ignored" in result.warnings


def test_other_transaction_set_in_the_file_is_rejected():
    remit = fixture("cob-contractural-adjustment.835")
    claim = fixture("demo.autoaccident.837")
    st_to_se = claim[claim.index(b"ST*837") : claim.index(b"GE*")]
    data = replaced(remit, b"GE*1*1~", st_to_se + b"GE*2*1~")
    result = parse_x12(data)
    assert result.transaction == "835" and len(result.lines) == 1
    [reject] = result.rejects
    assert reject.line == 28
    assert (
        "starts a 837 transaction set in a file whose first transaction set is 835" in reject.reason
    )


# --------------------------------------------------------------------------------------------
# Not X12 at all
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        (b"claim_number,member_id,billed\n1,A1,10.00\n", "looks like a CSV"),
        (b"%PDF-1.7\n1 0 obj\n", "must start with an ISA segment"),
        (b"", "empty"),
        (b"\x00\x01\x02ISA", "binary"),
        (b"ISA*00*short*ZZ~GS*HC~", "the ISA segment cannot be read"),
        (  # ISA06 not padded to 15 characters: pyx12 cannot locate the delimiters
            (FIXTURES / "managed-care.835").read_bytes().replace(b"000000005      *", b"5*"),
            "the ISA segment cannot be read",
        ),
    ],
)
def test_not_x12_raises_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        parse_x12(data)


def test_random_damage_never_raises_anything_but_value_error():
    rng = random.Random(20240611)
    originals = [fixture(name) for name in sorted(EXPECTED)]
    noise = b"~*:^>\n\r 0123456789ABCZ.-"
    for _ in range(400):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 5)):
            pos = rng.randrange(len(data))
            action = rng.randrange(4)
            if action == 0:
                data[pos] = rng.choice(noise)
            elif action == 1:
                del data[pos : pos + rng.randint(1, 20)]
            elif action == 2:
                data[pos:pos] = bytes(rng.choice(noise) for _ in range(rng.randint(1, 5)))
            else:
                data[pos:pos] = rng.choice(originals)[pos : pos + rng.randint(1, 200)]
        for function in (parse_x12, detect_format):
            try:
                function(bytes(data))
            except ValueError:
                pass


def test_unsupported_transaction_set_raises_value_error():
    data = replaced(fixture("demo.example1.837"), b"ST*837*", b"ST*270*")
    with pytest.raises(ValueError, match="transaction set '270'"):
        parse_x12(data)
    with pytest.raises(ValueError, match="transaction set '270'"):
        detect_format(data)


def test_damaged_st01_is_read_as_gs01_says():
    data = replaced(fixture("demo.example1.837"), b"ST*837*", b"ST*8:7*")
    result = parse_x12(data)
    assert result.transaction == "837" and len(result.lines) == 4
    assert "ST01 '8:7' at segment 3 is not a transaction set identifier" in result.warnings[0]
    assert detect_format(data) == "837"


@pytest.mark.parametrize(
    "data",
    [
        b"claim_number,member_id,service_from,billed\n",
        b"\xef\xbb\xbfclaim_number;member_id;billed\r\n1;2;3\r\n",  # BOM, semicolons
        b"claim_number\tmember_id\tbilled\n",
    ],
)
def test_detect_format_csv(data):
    assert detect_format(data) == "csv"


@pytest.mark.parametrize("data", [b"just some words", b"", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_detect_format_rejects_other_content(data):
    with pytest.raises(ValueError):
        detect_format(data)
