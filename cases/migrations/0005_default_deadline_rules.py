"""The all-state default deadline rules, editable in the admin (the built-in fallbacks of
`cases.deadlines.DEFAULT_RULES`, written out so they can be seen and changed)."""

from django.db import migrations

# event: (days, business_days, citation) — a copy, so later edits to the code cannot change
# what this migration did.
DEFAULTS = {
    "notice_response": (30, False, "Agency default: response to a notice of lien"),
    "follow_up": (30, False, "Agency default: follow-up cadence"),
    "demand_payment": (30, False, "Agency default: payment after final demand"),
    "appeal": (30, False, "Agency default: appeal window"),
    "attorney_answer": (10, True, "Agency default: answer to an attorney's request"),
    "lien_renewal": (365, False, "Agency default: lien renewal"),
}


def create(apps, schema_editor):
    DeadlineRule = apps.get_model("cases", "DeadlineRule")
    for event, (days, business_days, citation) in DEFAULTS.items():
        DeadlineRule.objects.get_or_create(
            event=event,
            jurisdiction=None,
            program="",
            defaults={"days": days, "business_days": business_days, "citation": citation},
        )


def remove(apps, schema_editor):
    DeadlineRule = apps.get_model("cases", "DeadlineRule")
    for event, (days, business_days, citation) in DEFAULTS.items():
        # Only rows still as seeded; an edited default is the agency's and stays.
        DeadlineRule.objects.filter(
            event=event,
            jurisdiction=None,
            program="",
            days=days,
            business_days=business_days,
            citation=citation,
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_deadline_rules_and_reminders")]

    operations = [migrations.RunPython(create, remove)]
