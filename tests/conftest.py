"""Personas and shared fixtures. Each persona is a user of the demo's shape, built fresh per test."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from recovery.core.models import Role, Team, User

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_user(username: str, role: str, team: Team | None = None, **extra) -> User:
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        team=team,
        first_name=username.capitalize(),
        last_name="Example",
        email=f"{username}@example.org",
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
        **extra,
    )
    return user


@pytest.fixture
def team_east(db):
    return Team.objects.create(name="East")


@pytest.fixture
def team_west(db):
    return Team.objects.create(name="West")


@pytest.fixture
def supervisor(team_east):
    user = make_user("supervisor", Role.SUPERVISOR, team_east)
    team_east.supervisor = user
    team_east.save()
    return user


@pytest.fixture
def supervisor2(team_west):
    user = make_user("supervisor2", Role.SUPERVISOR, team_west)
    team_west.supervisor = user
    team_west.save()
    return user


@pytest.fixture
def specialist(team_east, supervisor):
    return make_user(
        "specialist",
        Role.SPECIALIST,
        team_east,
        authority_max_reduction_amount=Decimal("2500.00"),
        authority_max_reduction_percent=Decimal("10.00"),
    )


@pytest.fixture
def specialist2(team_west, supervisor2):
    return make_user("specialist2", Role.SPECIALIST, team_west)


@pytest.fixture
def attorney(db):
    return make_user("attorney", Role.ATTORNEY)


@pytest.fixture
def attorney2(db):
    return make_user("attorney2", Role.ATTORNEY)


@pytest.fixture
def auditor(db):
    return make_user("auditor", Role.AUDITOR)


@pytest.fixture
def admin_user(db):
    return make_user("admin", Role.ADMIN)


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates it by token like an outside tool."""

    class Client(APIClient):
        def as_user(self, user):
            from rest_framework.authtoken.models import Token

            token, _ = Token.objects.get_or_create(user=user)
            self.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            return self

    return Client()


@pytest.fixture
def real_worker(transactional_db, django_db_serialized_rollback, settings):
    """A real `celery worker` process on the Redis broker, reading the test database.

    Yields the name of a queue only this worker consumes, so tasks sent there run in it.
    """
    import os
    import subprocess
    import sys
    import time
    import uuid

    from django.db import connection

    from recovery.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs the Redis broker (make test sets CELERY_BROKER_URL when Redis runs)")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "DEBUG": "false",
    }
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the worker process shares the test database only on PostgreSQL")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "recovery",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--loglevel",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{queue}@%h",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5)
            if replies:
                break
            if process.poll() is not None:
                raise RuntimeError("the Celery worker exited during start-up")
        else:
            raise RuntimeError("the Celery worker did not answer within 30 s")
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def listener():
    """A loopback TCP listener; `listener.connections` stays 0 if nothing was fetched."""
    from tests.pdfs import Listener

    server = Listener()
    yield server
    server.close()
