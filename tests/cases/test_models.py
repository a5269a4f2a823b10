import pytest
from django.db import IntegrityError, connection

from cases.models import Member
from recovery.crypto import keyed_hash
from tests import factories

pytestmark = pytest.mark.django_db


def test_program_id_ssn_dob_and_address_are_not_stored_in_clear():
    person = factories.member(program_id="M123456789", ssn="900-12-3456")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM cases_member WHERE id = %s", [person.pk])
        raw = " ".join(str(value) for value in cursor.fetchone())
    for secret in ("M123456789", "900-12-3456", "900123456", "1985-06-15", "Test Street"):
        assert secret not in raw
    reloaded = Member.objects.get(pk=person.pk)
    assert reloaded.program_id == "M123456789"
    assert reloaded.ssn == "900-12-3456"
    assert str(reloaded.dob) == "1985-06-15"


def test_history_rows_keep_phi_encrypted_too():
    person = factories.member(program_id="M555000111")
    person.first_name = "Alexis"
    person.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM cases_historicalmember WHERE id = %s", [person.pk])
        rows = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert "M555000111" not in rows


def test_members_are_found_by_exact_program_id_through_the_hash():
    person = factories.member(program_id="M777000222")
    assert Member.objects.get(program_id_hash=keyed_hash("m777000222")) == person
    assert not Member.objects.filter(program_id_hash=keyed_hash("M777000")).exists()


def test_program_ids_are_unique():
    factories.member(program_id="M1")
    with pytest.raises(IntegrityError):
        factories.member(program_id="m-1")
