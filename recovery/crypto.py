"""PHI at rest: an encrypted text field and a keyed hash for exact search.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys derived from
FIELD_ENCRYPTION_KEY. Several comma-separated keys may be configured: the first encrypts, all
decrypt, so a key can be rotated by putting the new one first and re-saving rows. The keyed hash
(HMAC-SHA256) lets a program id or SSN be found by exact match without storing it in clear.
"""

import base64
import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _derive(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"recovery:{purpose}:{secret}".encode()).digest()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(_derive(key, "field-encryption"))) for key in keys]
    )


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return _current().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("encrypted value cannot be read with the configured keys") from exc


def normalize_identifier(value: str) -> str:
    """Program ids and SSNs compare without spaces, dashes or case."""
    return "".join(ch for ch in value if ch.isalnum()).upper()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of a normalized identifier, hex.

    Keyed by the oldest (last) key: rotation prepends new keys, so stored hashes stay valid.
    """
    key = _derive(settings.FIELD_ENCRYPTION_KEYS[-1], "search-hash")
    return hmac.new(key, normalize_identifier(value).encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads return the clear value.

    It cannot be filtered on (ciphertexts differ each time): pair it with a keyed-hash column
    for exact search.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "recovery.crypto.EncryptedTextField", args, kwargs
