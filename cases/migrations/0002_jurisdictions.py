"""Reference data: every state with its general personal-injury limitation period.

The years are the general negligence periods commonly cited for each state; they are a starting
point that each agency's counsel confirms and edits in the admin (the table keeps history).
Specific rules per incident kind go in SolRule.
"""

from django.db import migrations

SOL_YEARS = {
    "AL": 2, "AK": 2, "AZ": 2, "AR": 3, "CA": 2, "CO": 2, "CT": 2, "DE": 2, "DC": 3, "FL": 2,
    "GA": 2, "HI": 2, "ID": 2, "IL": 2, "IN": 2, "IA": 2, "KS": 2, "KY": 1, "LA": 2, "ME": 6,
    "MD": 3, "MA": 3, "MI": 3, "MN": 6, "MS": 3, "MO": 5, "MT": 3, "NE": 4, "NV": 2, "NH": 3,
    "NJ": 2, "NM": 3, "NY": 3, "NC": 3, "ND": 6, "OH": 2, "OK": 2, "OR": 2, "PA": 2, "PR": 1,
    "RI": 3, "SC": 3, "SD": 3, "TN": 1, "TX": 2, "UT": 4, "VT": 3, "VA": 2, "WA": 3, "WV": 2,
    "WI": 3, "WY": 4,
}  # fmt: skip


def create(apps, schema_editor):
    from cases.models import US_STATES

    Jurisdiction = apps.get_model("cases", "Jurisdiction")
    for code, name in US_STATES:
        Jurisdiction.objects.get_or_create(
            code=code, defaults={"name": name, "default_sol_years": SOL_YEARS.get(code, 2)}
        )


def remove(apps, schema_editor):
    apps.get_model("cases", "Jurisdiction").objects.filter(cases__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
