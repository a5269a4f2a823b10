"""Load state-scale synthetic data (DESIGN §7) by bulk COPY.

    python manage.py seed_scale --cases 1000000 [--seed N] [--chunk 2000] [--workers 2]

Refuses a database that already holds cases unless --force (then it adds to them). The staff
users it creates (``scale-admin``, ``scale-sup-NN``, ``scale-spec-NN-NN``, ``scale-auditor-N``)
sign in with the demo password (``DEMO_PASSWORD``). See ``cases/scale.py`` for what is made.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from cases.scale import NotEmpty, seed_scale


class Command(BaseCommand):
    help = "Load synthetic state-scale data (cases, claim lines, ledger) with PostgreSQL COPY."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="cases to add")
        parser.add_argument("--seed", type=int, default=20260101, help="random seed")
        parser.add_argument("--chunk", type=int, default=2000, help="cases per COPY batch")
        parser.add_argument(
            "--workers", type=int, default=None, help="generator processes (default: CPUs)"
        )
        parser.add_argument(
            "--force", action="store_true", help="add to a database that already has cases"
        )
        parser.add_argument(
            "--no-vacuum", action="store_true", help="only ANALYZE at the end, no VACUUM"
        )

    def handle(self, *args, **options):
        if options["cases"] < 1 or options["chunk"] < 1:
            raise CommandError("--cases and --chunk must be positive.")
        started = time.perf_counter()
        try:
            counts = seed_scale(
                cases=options["cases"],
                seed=options["seed"],
                chunk=options["chunk"],
                workers=options["workers"],
                force=options["force"],
                vacuum=not options["no_vacuum"],
                log=lambda line: self.stdout.write(line),
            )
        except (NotEmpty, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        for table, rows in sorted(counts.items()):
            self.stdout.write(f"  {table:32} {rows:>12,}")
        self.stdout.write(
            self.style.SUCCESS(f"seed_scale: done in {time.perf_counter() - started:.0f} s")
        )
