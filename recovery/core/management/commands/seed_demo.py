"""Demo data: idempotent — running it again updates the same rows and adds nothing twice.

Users (password from DEMO_PASSWORD, default ``recovery-demo``): specialist, specialist2,
supervisor, supervisor2, attorney, attorney2, auditor, admin. Every name is synthetic.
"""

from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from cases.demo import seed_cases
from recovery.core.models import Role, Team, User

DEMO_USERS = [
    # username, first, last, role, team, authority $, authority %
    ("specialist", "Dana", "Whitfield", Role.SPECIALIST, "Casualty East", "2500.00", "10.00"),
    ("specialist2", "Marcus", "Oyelaran", Role.SPECIALIST, "Casualty West", "1000.00", "5.00"),
    ("supervisor", "Priya", "Castellano", Role.SUPERVISOR, "Casualty East", "25000.00", "40.00"),
    ("supervisor2", "Tomasz", "Ferreira", Role.SUPERVISOR, "Casualty West", "25000.00", "40.00"),
    ("attorney", "Helen", "Marsh-Adebayo", Role.ATTORNEY, None, "0", "0"),
    ("attorney2", "Victor", "Lindqvist", Role.ATTORNEY, None, "0", "0"),
    ("auditor", "Grace", "Nakamura", Role.AUDITOR, None, "0", "0"),
    ("admin", "Sam", "Okonkwo", Role.ADMIN, None, "0", "0"),
]


class Command(BaseCommand):
    help = "Create or refresh the demo users and data (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--cases", type=int, default=200, help="How many demo cases (default 200)."
        )

    @transaction.atomic
    def handle(self, *args, **options):
        password = settings.DEMO_PASSWORD
        teams = {
            name: Team.objects.get_or_create(name=name)[0]
            for name in {"Casualty East", "Casualty West"}
        }
        users = {}
        for username, first, last, role, team, amount, percent in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            user.first_name, user.last_name, user.role = first, last, role
            user.email = f"{username}@example.org"
            user.team = teams.get(team)
            user.authority_max_reduction_amount = Decimal(amount)
            user.authority_max_reduction_percent = Decimal(percent)
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.is_active = True
            user.set_password(password)
            user.save()
            users[username] = user
        for team_name, supervisor in (
            ("Casualty East", "supervisor"),
            ("Casualty West", "supervisor2"),
        ):
            team = teams[team_name]
            if team.supervisor_id != users[supervisor].pk:
                team.supervisor = users[supervisor]
                team.save()
        self.stdout.write(
            self.style.SUCCESS(f"Demo users ready ({len(users)}), password from DEMO_PASSWORD.")
        )
        added = seed_cases(users=users, count=options["cases"])
        self.stdout.write(
            self.style.SUCCESS(
                "Demo casework ready: "
                + ", ".join(f"{count} {name}" for name, count in added.items() if count)
                if any(added.values())
                else "Demo casework already loaded."
            )
        )
