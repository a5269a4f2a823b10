"""The Celery application.

Tasks live in each app's ``tasks.py`` and are autodiscovered. A task that changes audited rows on
someone's behalf receives ``acting_user_id`` as a keyword argument; the signal handlers below make
that user the author of every history row the task writes.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")

app = Celery("recovery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _enter_acting_user(task=None, kwargs=None, **_):
    from recovery.core.audit import begin_acting_user

    begin_acting_user((kwargs or {}).get("acting_user_id"))


@task_postrun.connect
def _leave_acting_user(**_):
    from recovery.core.audit import end_acting_user

    end_acting_user()
