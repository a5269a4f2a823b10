from datetime import timedelta

import pytest
from django.utils import timezone

from recovery.core.models import Role, User
from recovery.core.tasks import deactivate_dormant_accounts
from tests.conftest import make_user


@pytest.mark.celery_worker
def test_a_task_runs_on_a_real_worker_over_redis_and_records_its_requester(real_worker):
    requester = make_user("supervisor", Role.SUPERVISOR)
    dormant = make_user("specialist", Role.SPECIALIST)
    User.objects.filter(pk=dormant.pk).update(last_login=timezone.now() - timedelta(days=365))

    result = deactivate_dormant_accounts.apply_async(
        kwargs={"acting_user_id": requester.pk}, queue=real_worker
    )
    assert result.get(timeout=30) == [dormant.pk]

    dormant.refresh_from_db()
    assert dormant.is_active is False
    assert dormant.history.first().history_user_id == requester.pk


def test_the_daily_jobs_are_scheduled_by_migration(db):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # Run the data migration's function again (it is idempotent): a transactional test earlier
    # in the run may have flushed the rows the migration made.
    migration = importlib.import_module("recovery.core.migrations.0002_beat_schedules")
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)
    task = PeriodicTask.objects.get(name="Deactivate dormant accounts")
    assert task.task == "recovery.core.tasks.deactivate_dormant_accounts"
    assert task.enabled
