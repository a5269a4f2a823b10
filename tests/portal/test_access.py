"""Who reaches which page: one table, one row per endpoint. Adding an endpoint means adding a
row; each column is a persona (see PERSONAS)."""

import pytest
from django.urls import reverse

from tests.portal.test_portal import extras, world  # noqa: F401  (fixtures)

PERSONAS = (
    "specialist",  # assigned to the case (team East)
    "specialist2",  # another team
    "supervisor",
    "auditor",
    "attorney",  # attorney of record (their firm)
    "attorney2",  # another firm
    "anonymous",
)

LOGIN = 302  # HTML pages send anonymous users to the login page
API_ANON = 401  # the API answers anonymous callers with 401 (token authentication first)

# name: (url builder from the `world` fixture, expected status per persona in PERSONAS order)
MATRIX = {
    "portal home": (
        lambda w: reverse("portal:home"),
        (403, 403, 403, 403, 200, 200, LOGIN),
    ),
    "portal case detail": (
        lambda w: reverse("portal:case", args=[w["mine"].pk]),
        (403, 403, 403, 403, 200, 404, LOGIN),
    ),
    "portal dispute queue": (
        lambda w: reverse("portal:disputes"),
        (200, 200, 200, 200, 403, 403, LOGIN),
    ),
    "portal invite": (
        lambda w: reverse("portal:invite"),
        (200, 200, 200, 403, 403, 403, LOGIN),
    ),
    "portal refer": (
        lambda w: reverse("portal:refer"),
        (403, 403, 403, 403, 200, 200, LOGIN),
    ),
    "portal referral queue": (
        lambda w: reverse("portal:referrals"),
        (200, 200, 200, 200, 403, 403, LOGIN),
    ),
    "portal referral detail": (
        lambda w: reverse("portal:referral", args=[w["mine_referral"].pk]),
        (200, 200, 200, 200, 200, 404, LOGIN),
    ),
    "portal referral letter": (
        lambda w: reverse("portal:referral-file", args=[w["mine_referral"].pk, "letter"]),
        (200, 200, 200, 200, 200, 404, LOGIN),
    ),
    "portal referral open case": (
        lambda w: reverse("portal:referral-open-case", args=[w["mine_referral"].pk]),
        (302, 302, 302, 403, 403, 403, LOGIN),
    ),
    "portal referral convert (POST only)": (
        lambda w: reverse("portal:referral-convert", args=[w["mine_referral"].pk]),
        (405, 405, 405, 403, 403, 403, LOGIN),
    ),
    "portal referral decline (POST only)": (
        lambda w: reverse("portal:referral-decline", args=[w["mine_referral"].pk]),
        (405, 405, 405, 403, 403, 403, LOGIN),
    ),
    "portal own upload download": (
        lambda w: reverse("portal:document", args=[w["mine_upload"].pk]),
        (403, 403, 403, 403, 200, 404, LOGIN),
    ),
    "portal other firm's upload download": (
        lambda w: reverse("portal:document", args=[w["theirs_upload"].pk]),
        (403, 403, 403, 403, 404, 200, LOGIN),
    ),
    "staff case list": (
        lambda w: reverse("cases:list"),
        (200, 200, 200, 200, 403, 403, LOGIN),
    ),
    "staff case detail": (
        lambda w: reverse("cases:detail", args=[w["mine"].pk]),
        (200, 404, 200, 200, 403, 403, LOGIN),
    ),
    "settlement calculator": (
        lambda w: reverse("settlements:calculator"),
        (200, 200, 200, 200, 403, 403, LOGIN),
    ),
    "holding account": (
        lambda w: reverse("ledger:holding"),
        (403, 403, 200, 200, 403, 403, LOGIN),
    ),
    "staff document download": (
        lambda w: reverse("cases:document-download", args=[w["mine_letter"].pk]),
        (200, 404, 200, 200, 403, 403, LOGIN),
    ),
    "letter download": (
        lambda w: reverse("liens:letter-download", args=[w["mine_letter"].pk]),
        (200, 404, 200, 200, 200, 404, LOGIN),
    ),
    "API case list": (
        lambda w: "/api/cases/",
        (200, 200, 200, 200, 403, 403, API_ANON),
    ),
    "API case detail": (
        lambda w: f"/api/cases/{w['mine'].pk}/",
        (200, 404, 200, 200, 403, 403, API_ANON),
    ),
    "API document download": (
        lambda w: f"/api/documents/{w['mine_letter'].pk}/download/",
        (200, 404, 200, 200, 200, 404, API_ANON),
    ),
}

CASES = [
    pytest.param(endpoint, persona, expected[i], id=f"{endpoint}-{persona}")
    for endpoint, (_, expected) in MATRIX.items()
    for i, persona in enumerate(PERSONAS)
]


@pytest.mark.parametrize(("endpoint", "persona", "expected"), CASES)
def test_access_matrix(client, request, extras, auditor, endpoint, persona, expected):  # noqa: F811
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    url = MATRIX[endpoint][0](extras)
    response = client.get(url)
    assert response.status_code == expected, f"{persona} GET {url}"
