"""Beat schedules for the deadline scan, the reminder digests and the monthly lead letters
(the tasks are in `cases/reminder_tasks.py`)."""

from django.db import migrations

SCHEDULES = [
    # name, task, minute, hour, day of month
    ("Scan deadlines for reminders", "cases.scan_deadlines", "0", "6", "*"),
    ("E-mail reminder digests", "cases.send_reminder_digests", "30", "6", "*"),
    ("Queue questionnaire letters for leads", "cases.queue_lead_letters", "0", "7", "1"),
]


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour, day_of_month in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month=day_of_month,
            month_of_year="*",
            timezone="America/New_York",
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "enabled": True}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_default_deadline_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
