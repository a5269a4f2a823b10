import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from recovery.settings import DEVELOPMENT_SECRET_KEY, check_production_secrets

GOOD_SECRET = "x" * 50


def _load_settings(**env):
    """Import the settings in a fresh interpreter, as a production process would."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import recovery.settings as s; print('loaded', s.DEBUG)"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _load_settings(DEBUG="false", FIELD_ENCRYPTION_KEY="k" * 40)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_builtin_development_key():
    result = _load_settings(
        DEBUG="false", SECRET_KEY=DEVELOPMENT_SECRET_KEY, FIELD_ENCRYPTION_KEY="k" * 40
    )
    assert result.returncode != 0
    assert "development key is refused" in result.stderr


def test_production_refuses_to_start_without_a_field_encryption_key():
    result = _load_settings(DEBUG="false", SECRET_KEY=GOOD_SECRET)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set" in result.stderr


def test_production_starts_with_real_secrets():
    result = _load_settings(DEBUG="false", SECRET_KEY=GOOD_SECRET, FIELD_ENCRYPTION_KEY="k" * 40)
    assert result.returncode == 0, result.stderr
    assert "loaded False" in result.stdout


def test_debug_runs_on_the_embedded_defaults():
    result = _load_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("secret", ["", DEVELOPMENT_SECRET_KEY, "short"])
def test_check_production_secrets_rejects_weak_keys(secret):
    with pytest.raises(ImproperlyConfigured):
        check_production_secrets(debug=False, secret_key=secret, field_keys=["k"])


def test_a_malformed_boolean_is_a_clear_error():
    result = _load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
