"""The API's error responses are in its OpenAPI schema, and real error bodies match it."""

import jsonschema
import pytest
from django.urls import reverse

from recovery.core.rest import ERROR_SCHEMAS
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get(reverse("api-schema"), {"format": "json"}).json()


def _documented(schema, method: str, path: str) -> dict:
    return schema["paths"][path][method.lower()]["responses"]


def _check(schema, response, method: str, path: str) -> None:
    """The answer's status is documented for the operation, and its body matches the schema."""
    responses = _documented(schema, method, path)
    code = str(response.status_code)
    assert code in responses, f"{method} {path} answered {code}, documented: {sorted(responses)}"
    ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
    component = ref.rsplit("/", 1)[1]
    assert schema["components"]["schemas"][component] == ERROR_SCHEMAS[component]
    jsonschema.validate(response.json(), ERROR_SCHEMAS[component])


def test_every_operation_documents_its_error_responses(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path == "/api/auth/token/":
                assert {"400", "429"} <= codes and "401" not in codes
                continue
            assert {"401", "403"} <= codes, f"{method} {path}"
            if method != "get":
                assert {"400", "404", "409"} <= codes, f"{method} {path}"
            if "{" in path:
                assert "404" in codes, f"{method} {path}"
    approve = _documented(schema, "post", "/api/ledger/disbursements/{id}/approve/")
    assert approve["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConflictError"
    }
    # A description an operation gives keeps its words and gains the body.
    download = _documented(schema, "get", "/api/documents/{id}/download/")
    assert "not ready" in download["409"]["description"]
    assert "application/json" in download["409"]["content"]


def test_real_error_bodies_match_the_documented_schemas(
    client, api, schema, specialist, specialist2, auditor
):
    case = factories.open_case(specialist)
    api.as_user(specialist)
    # 400: field messages, and a bare message (a query parameter) as non_field_errors.
    response = api.post("/api/cases/", {}, format="json")
    assert response.status_code == 400 and "member" in response.json()
    _check(schema, response, "POST", "/api/cases/")
    lien = api.post("/api/liens/", {"case": case.pk}, format="json").json()
    response = api.get(f"/api/liens/{lien['id']}/", {"as_of": "not-a-date"})
    assert response.status_code == 400 and "non_field_errors" in response.json()
    _check(schema, response, "GET", "/api/liens/{id}/")
    # 400: a body that is not JSON.
    response = api.post("/api/cases/", "{not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()
    _check(schema, response, "POST", "/api/cases/")
    # 401 without credentials.
    response = client.get("/api/cases/")
    assert response.status_code == 401
    _check(schema, response, "GET", "/api/cases/")
    # 403 for a role that may not write.
    response = api.as_user(auditor).post(f"/api/cases/{case.pk}/take/")
    assert response.status_code == 403
    _check(schema, response, "POST", "/api/cases/{id}/take/")
    # 404 for a case of another team, and for a page past the end.
    api.as_user(specialist2)
    response = api.get(f"/api/cases/{case.pk}/")
    assert response.status_code == 404
    _check(schema, response, "GET", "/api/cases/{id}/")
    response = api.get("/api/cases/", {"page": 99})
    assert response.status_code == 404
    _check(schema, response, "GET", "/api/cases/")
    # 409 with its code: the case is already taken.
    response = api.as_user(specialist).post(f"/api/cases/{case.pk}/take/")
    assert response.status_code == 409 and response.json()["code"]
    _check(schema, response, "POST", "/api/cases/{id}/take/")


def test_a_throttled_token_login_is_documented(client, schema, settings):
    from django.core.cache import cache

    cache.clear()
    body = {"username": "nobody", "password": "wrong"}
    answers = [client.post("/api/auth/token/", body).status_code for _ in range(21)]
    assert answers[0] == 400 and answers[-1] == 429
    response = client.post("/api/auth/token/", body)
    _check(schema, response, "POST", "/api/auth/token/")
    cache.clear()
