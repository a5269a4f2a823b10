from datetime import date
from decimal import Decimal

import pytest

from cases.models import Case
from recovery.core.models import PhiAccess
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _florida(db):
    factories.jurisdiction("FL")


def test_cases_list_shows_only_visible_cases_with_decimals_as_strings(api, specialist, specialist2):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="1234.56")
    mine = factories.open_case(specialist, person)
    factories.open_case(specialist2)
    body = api.as_user(specialist).get("/api/cases/").json()
    assert [row["number"] for row in body["results"]] == [mine.number]
    assert body["results"][0]["lien_amount"] == "1234.56"


def test_search_matches_case_number_member_name_and_exact_program_id(api, supervisor, specialist):
    alice = factories.member(program_id="M100200300", first="Alice", last="Quintero")
    bob = factories.member(program_id="M999888777", first="Bob", last="Lindgren")
    case_a = factories.open_case(specialist, alice)
    case_b = factories.open_case(specialist, bob, incident_date=date(2025, 5, 1))
    client = api.as_user(supervisor)

    def numbers(term):
        return {
            row["number"] for row in client.get("/api/cases/", {"search": term}).json()["results"]
        }

    assert numbers(case_a.number) == {case_a.number}
    assert numbers(case_a.number.lower()) == {case_a.number}
    assert numbers("Quint") == {case_a.number}
    assert numbers("Bob Lindgren") == {case_b.number}
    assert numbers("M999888777") == {case_b.number}
    assert numbers("m999-888-777") == {case_b.number}
    assert numbers("M999888") == set()  # program ids match exactly, never by prefix
    assert PhiAccess.objects.filter(user=supervisor, action="search").exists()


def test_create_a_case_through_the_api(api, specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="500.00")
    response = api.as_user(specialist).post(
        "/api/cases/",
        {
            "member": person.pk,
            "incident_date": "2025-03-01",
            "incident_kind": "auto",
            "jurisdiction": "FL",
            "source": "attorney_letter",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("TPL-2025-")
    assert body["lien_amount"] == "500.00"
    assert body["assigned_to"]["username"] == "specialist"
    assert body["sol_date"] == "2027-03-01"


def test_bad_case_input_is_a_400_naming_each_field(api, specialist):
    response = api.as_user(specialist).post(
        "/api/cases/",
        {
            "member": 999999,
            "incident_date": "yesterday",
            "incident_kind": "meteor",
            "jurisdiction": "ZZ",
            "source": "",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) >= {
        "member",
        "incident_date",
        "incident_kind",
        "jurisdiction",
        "source",
    }
    assert Case.objects.count() == 0


def test_a_duplicate_is_a_400_until_acknowledged(api, specialist):
    person = factories.member()
    factories.open_case(specialist, person, incident_date=date(2025, 3, 1))
    payload = {
        "member": person.pk,
        "incident_date": "2025-03-10",
        "incident_kind": "auto",
        "jurisdiction": "FL",
        "source": "attorney_letter",
    }
    response = api.as_user(specialist).post("/api/cases/", payload, format="json")
    assert response.status_code == 400
    assert "acknowledge_duplicates" in response.json()
    response = api.as_user(specialist).post(
        "/api/cases/", {**payload, "acknowledge_duplicates": True}, format="json"
    )
    assert response.status_code == 201


def test_patch_updates_facts_and_records_history(api, specialist):
    case = factories.open_case(specialist)
    response = api.as_user(specialist).patch(
        f"/api/cases/{case.pk}/",
        {"priority": 1, "incident_description": "Rear-ended at a light"},
        format="json",
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.priority == 1
    assert case.history.first().history_user == specialist


def test_patch_refuses_bad_values_with_400(api, specialist):
    case = factories.open_case(specialist)
    response = api.as_user(specialist).patch(
        f"/api/cases/{case.pk}/", {"priority": 7, "sol_date": "31/31/2025"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"priority", "sol_date"}


def test_other_team_specialist_gets_404_not_403_and_auditor_reads_only(
    api, specialist, specialist2, auditor
):
    case = factories.open_case(specialist)
    assert api.as_user(specialist2).get(f"/api/cases/{case.pk}/").status_code == 404
    assert (
        api.as_user(specialist2)
        .patch(f"/api/cases/{case.pk}/", {"priority": 1}, format="json")
        .status_code
        == 404
    )
    assert api.as_user(auditor).get(f"/api/cases/{case.pk}/").status_code == 200
    assert (
        api.as_user(auditor)
        .patch(f"/api/cases/{case.pk}/", {"priority": 1}, format="json")
        .status_code
        == 403
    )


def test_attorneys_cannot_use_the_staff_api(api, attorney, specialist):
    case = factories.open_case(specialist)
    client = api.as_user(attorney)
    for url in (
        "/api/cases/",
        f"/api/cases/{case.pk}/",
        "/api/members/",
        "/api/claims/",
        "/api/parties/",
    ):
        assert client.get(url).status_code == 403


def test_a_specialist_of_the_same_team_sees_but_cannot_edit_a_teammates_case(
    api, specialist, team_east
):
    from tests.conftest import make_user

    teammate = make_user("teammate", "specialist", team_east)
    case = factories.open_case(specialist)
    assert api.as_user(teammate).get(f"/api/cases/{case.pk}/").status_code == 200
    assert (
        api.as_user(teammate)
        .patch(f"/api/cases/{case.pk}/", {"priority": 1}, format="json")
        .status_code
        == 403
    )


def test_claims_decide_through_the_api(api, specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="300.00")
    factories.claim_line(person, service_from=date(2025, 3, 2), paid="200.00")
    case = factories.open_case(specialist, person)
    client = api.as_user(specialist)
    claims = client.get(f"/api/cases/{case.pk}/claims/").json()["results"]
    assert len(claims) == 2
    target = next(c for c in claims if c["claim_line"]["paid_amount"] == "200.00")
    missing_reason = client.post(
        f"/api/cases/{case.pk}/claims/{target['id']}/decide/", {"included": False}, format="json"
    )
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()
    response = client.post(
        f"/api/cases/{case.pk}/claims/{target['id']}/decide/",
        {"included": False, "reason": "Unrelated"},
        format="json",
    )
    assert response.status_code == 200
    assert client.get(f"/api/cases/{case.pk}/").json()["lien_amount"] == "300.00"


def test_status_change_conflict_is_409(api, specialist):
    case = factories.open_case(specialist)
    response = api.as_user(specialist).post(
        f"/api/cases/{case.pk}/status/", {"status": "settlement"}, format="json"
    )
    assert response.status_code == 409
    response = api.as_user(specialist).post(
        f"/api/cases/{case.pk}/status/", {"status": "research"}, format="json"
    )
    assert response.json()["status"] == "research"


def test_parties_activities_and_deadlines(api, specialist):
    case = factories.open_case(specialist)
    firm = factories.law_firm()
    client = api.as_user(specialist)
    response = client.post(
        f"/api/cases/{case.pk}/parties/",
        {
            "party": firm.pk,
            "role": "attorney_of_record",
            "claim_number": "CLM-1",
            "policy_limits": "25000.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["policy_limits"] == "25000.00"
    again = client.post(
        f"/api/cases/{case.pk}/parties/",
        {"party": firm.pk, "role": "attorney_of_record"},
        format="json",
    )
    assert again.status_code == 400
    activity = client.post(
        f"/api/cases/{case.pk}/activities/",
        {
            "kind": "call",
            "direction": "out",
            "party": firm.pk,
            "subject": "Requested status",
            "follow_up_on": "2026-12-15",
        },
        format="json",
    )
    assert activity.status_code == 201, activity.json()
    deadlines = client.get(f"/api/cases/{case.pk}/deadlines/").json()
    follow_up = next(d for d in deadlines if d["kind"] == "follow_up")
    done = client.post(f"/api/cases/{case.pk}/deadlines/{follow_up['id']}/done/")
    assert done.status_code == 200 and done.json()["done_at"]


def test_members_api_logs_every_read_and_validates(api, specialist):
    client = api.as_user(specialist)
    response = client.post(
        "/api/members/",
        {
            "program_id": "M246813579",
            "first_name": "Casey",
            "last_name": "Rivera",
            "date_of_birth": "1990-01-02",
            "ssn": "900-11-2222",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    member_id = response.json()["id"]
    assert response.json()["ssn_last4"] == "2222"
    assert "ssn" not in response.json()
    duplicate = client.post(
        "/api/members/",
        {"program_id": "m246813579", "first_name": "X", "last_name": "Y"},
        format="json",
    )
    assert duplicate.status_code == 400 and "program_id" in duplicate.json()
    bad = client.post(
        "/api/members/",
        {"program_id": "M1", "first_name": "X", "last_name": "Y", "ssn": "12"},
        format="json",
    )
    assert bad.status_code == 400 and "ssn" in bad.json()
    client.get(f"/api/members/{member_id}/")
    found = client.get("/api/members/", {"search": "M246813579"}).json()
    assert [m["id"] for m in found["results"]] == [member_id]
    assert PhiAccess.objects.filter(user=specialist, subject_id=member_id).count() == 2


def test_case_list_api_runs_a_fixed_number_of_queries(
    api, supervisor, specialist, django_assert_max_num_queries
):
    for n in range(3):
        factories.open_case(specialist, incident_date=date(2025, 1, 1 + n))
    client = api.as_user(supervisor)
    with django_assert_max_num_queries(8) as few:
        client.get("/api/cases/")
    for n in range(25):
        factories.open_case(specialist, incident_date=date(2024, 1, 1 + n))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/api/cases/")


def test_openapi_schema_lists_the_case_endpoints(client):
    body = client.get("/api/schema/").content.decode()
    for path in (
        "/api/cases/",
        "/api/cases/{id}/",
        "/api/members/",
        "/api/claims/",
        "/api/parties/",
    ):
        assert path in body
    assert Decimal  # decimals documented as strings by DRF's COERCE_DECIMAL_TO_STRING
