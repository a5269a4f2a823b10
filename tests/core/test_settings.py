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


def _cache_probe(code: str, **env):
    clean = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    clean.update({"DEBUG": "true", **env})
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'recovery.settings'); django.setup(); from django.core.cache import caches; cache = caches['default']; "
            + code,
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cache_is_per_process_without_configuration():
    result = _cache_probe("print(type(cache).__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "LocMemCache"


def test_a_bad_cache_url_is_a_clear_error():
    result = _cache_probe("print(1)", CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert "CACHE_URL must be a redis://" in result.stderr


def test_a_redis_cache_url_shares_the_cache_between_processes():
    import socket
    import uuid

    try:
        socket.create_connection(("127.0.0.1", 6379), 2).close()
    except OSError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    url = "redis://127.0.0.1:6379/12"
    key = f"probe-{uuid.uuid4().hex}"
    written = _cache_probe(
        f"cache.set('{key}', 'seen', 30); print(type(cache).__name__)", CACHE_URL=url
    )
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == "RedisCache"
    read = _cache_probe(f"print(cache.get('{key}'))", CACHE_URL=url)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "seen"


def test_the_filesystem_broker_keeps_its_control_tables_under_the_data_folder(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATA_DIR"}}
    clean.update({"DEBUG": "true", "DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import recovery.settings as s; "
            "print(s.CELERY_BROKER_TRANSPORT_OPTIONS['control_folder'])",
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "celery" / "control")
    assert (tmp_path / "celery" / "control").is_dir()
