import pytest

from recovery import crypto


def test_encrypted_values_round_trip_and_differ_each_time():
    first, second = crypto.encrypt("123-45-6789"), crypto.encrypt("123-45-6789")
    assert first != second
    assert "123-45-6789" not in first
    assert crypto.decrypt(first) == crypto.decrypt(second) == "123-45-6789"


def test_keyed_hash_is_stable_and_ignores_formatting():
    assert crypto.keyed_hash("123-45-6789") == crypto.keyed_hash("123 45 6789")
    assert crypto.keyed_hash("ab123") == crypto.keyed_hash("AB123")
    assert crypto.keyed_hash("123456789") != crypto.keyed_hash("123456780")


def test_key_rotation_reads_old_values_and_keeps_hashes(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["old-key"]
    token = crypto.encrypt("M1234567")
    digest = crypto.keyed_hash("M1234567")
    settings.FIELD_ENCRYPTION_KEYS = ["new-key", "old-key"]
    assert crypto.decrypt(token) == "M1234567"
    assert crypto.keyed_hash("M1234567") == digest
    assert crypto.decrypt(crypto.encrypt("x")) == "x"


def test_a_value_under_an_unknown_key_is_a_clear_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["one"]
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = ["two"]
    with pytest.raises(ValueError, match="configured keys"):
        crypto.decrypt(token)
