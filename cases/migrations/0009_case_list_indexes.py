"""Indexes for the case list and search at state scale (DESIGN §7).

(column, id) indexes serve each sort of the list in both directions. On PostgreSQL, expression
indexes serve the search: UPPER(name) with text_pattern_ops for case-insensitive name prefixes
(istartswith), and the reversed case number for "ends with these digits".
"""

from django.conf import settings
from django.db import migrations, models

POSTGRES_INDEXES = [
    (
        "member_name_prefix_idx",
        "ON cases_member (UPPER(last_name) text_pattern_ops, UPPER(first_name) text_pattern_ops)",
    ),
    ("member_first_prefix_idx", "ON cases_member (UPPER(first_name) text_pattern_ops)"),
    ("case_number_reversed_idx", "ON cases_case (REVERSE(number) text_pattern_ops)"),
]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in POSTGRES_INDEXES:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _ in POSTGRES_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_claimline_indexes"),
        ("core", "0003_user_party"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["opened_at", "id"], name="case_opened_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["incident_date", "id"], name="case_incident_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["lien_amount", "id"], name="case_lien_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["sol_date", "id"], name="case_sol_idx"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["status", "id"], name="case_status_idx"),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
