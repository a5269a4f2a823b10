"""Import a claims file (CSV, X12 835 or 837) now, in this process.

    python manage.py import_claims FILE [--user USERNAME]

Prints the counts and every rejected line; exits with status 1 when the file was not imported
(rejected as a whole, or the load failed).
"""

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases.imports import create_batch, run_import
from cases.models import ImportBatch
from recovery.core.audit import acting_as
from recovery.core.models import User


class Command(BaseCommand):
    help = "Import a claims file (CSV, X12 835 or X12 837) synchronously and report the result."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the file to import")
        parser.add_argument(
            "--user",
            help="username the import is recorded for (history rows, created_by)",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user named {options['user']!r}.")
        try:
            batch = create_batch(uploaded_by=user, filename=path.name, content=content)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc

        if user is not None:
            with acting_as(user):
                batch = run_import(batch_id=batch.pk)
        else:
            batch = run_import(batch_id=batch.pk)
        self._report(batch)
        if batch.status != ImportBatch.Status.DONE:
            raise CommandError(f"Not imported: {batch.message}")

    def _report(self, batch: ImportBatch) -> None:
        out = self.stdout
        out.write(f"Batch {batch.pk}: {batch.filename} ({batch.get_format_display()}), {batch.get_status_display().lower()}")  # fmt: skip
        out.write(
            f"  rows {batch.total_rows}, inserted {batch.inserted}, updated {batch.updated}, "
            f"unchanged {batch.unchanged}, rejected {batch.rejected}, hits {batch.hits}, "
            f"late-arriving {batch.late_arriving}"
        )
        for warning in batch.warnings:
            out.write(f"  warning: {warning}")
        for line, reason in batch.rejects.order_by("line", "id").values_list("line", "reason"):
            out.write(f"line {line}: {reason}")
