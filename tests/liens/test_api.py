from datetime import date

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(specialist):
    person = factories.member()
    factories.claim_line(person, service_from=date(2025, 3, 1), paid="800.00")
    case = factories.open_case(specialist, person)
    case.firm = factories.law_firm()
    factories.attorney_of_record(case, case.firm, specialist)
    return case


def test_file_amend_and_approve_through_the_api(api, case, specialist, supervisor):
    client = api.as_user(specialist)
    lien = client.post("/api/liens/", {"case": case.pk}, format="json")
    assert lien.status_code == 201
    lien_id = lien.json()["id"]
    response = client.post(
        f"/api/liens/{lien_id}/file/",
        {
            "filed_with": case.firm.pk,
            "filed_on": "2025-06-01",
            "method": "certified_mail",
            "certified_mail_number": "9400 1000 0000 0000 0000 00",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "filed" and response.json()["amount"] == "800.00"
    lines = client.get(f"/api/liens/{lien_id}/lines/").json()
    assert lines["count"] == 1 and lines["results"][0]["paid_amount"] == "800.00"

    change = client.post(
        f"/api/liens/{lien_id}/amend/",
        {"new_amount": "950.00", "reason": "Late claims"},
        format="json",
    )
    assert change.status_code == 201
    change_id = change.json()["id"]
    assert client.post(f"/api/lien-changes/{change_id}/approve/").status_code == 403
    queue = api.as_user(supervisor).get("/api/lien-changes/", {"status": "requested"}).json()
    assert [row["id"] for row in queue["results"]] == [change_id]
    approved = api.as_user(supervisor).post(
        f"/api/lien-changes/{change_id}/approve/", {"note": "ok"}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert api.as_user(supervisor).get(f"/api/liens/{lien_id}/").json()["amount"] == "950.00"
    as_of = api.as_user(supervisor).get(f"/api/liens/{lien_id}/", {"as_of": "2025-05-01"}).json()
    assert as_of["amount_as_of"] is None


def test_bad_lien_input_is_a_400_naming_fields(api, case, specialist):
    client = api.as_user(specialist)
    lien_id = client.post("/api/liens/", {"case": case.pk}, format="json").json()["id"]
    response = client.post(
        f"/api/liens/{lien_id}/file/",
        {"filed_with": 0, "filed_on": "soon", "method": "pigeon"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"filed_with", "filed_on", "method"}
    second = client.post("/api/liens/", {"case": case.pk}, format="json")
    assert second.status_code == 409


def test_other_teams_and_attorneys_cannot_reach_a_lien(
    api, case, specialist, specialist2, attorney, auditor
):
    lien_id = (
        api.as_user(specialist).post("/api/liens/", {"case": case.pk}, format="json").json()["id"]
    )
    assert api.as_user(specialist2).get(f"/api/liens/{lien_id}/").status_code == 404
    assert (
        api.as_user(specialist2).post("/api/liens/", {"case": case.pk}, format="json").status_code
        == 404
    )
    assert api.as_user(attorney).get(f"/api/liens/{lien_id}/").status_code == 403
    assert api.as_user(auditor).get(f"/api/liens/{lien_id}/").status_code == 200
    assert (
        api.as_user(auditor)
        .post(f"/api/liens/{lien_id}/withdraw/", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
