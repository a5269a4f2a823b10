"""Letter rendering benchmark (DESIGN §7: a 2-page letter median ≤ 0.5 s; a 1,000-line itemized
statement ≤ 5 s), each beside the raw limit measured in the same run: an empty WeasyPrint page.

    DEBUG=true .venv/bin/python bench/bench_letters.py

Runs on a throwaway SQLite database under /tmp/bench-letters (never the project's database):
the cases, claim lines and lien are built through the real services, the letters' contexts come
from `liens.letters.build_context`, and the timing is of `render_letter_pdf` — the same call the
render task makes.
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import _common  # noqa: E402

os.environ["DATA_DIR"] = "/tmp/bench-letters"
os.environ.pop("DATABASE_URL", None)  # never a real database
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ["LOG_LEVEL"] = "WARNING"  # WeasyPrint logs every layout step at INFO

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from weasyprint import HTML  # noqa: E402

from recovery.core.pdf import StaticOnlyFetcher  # noqa: E402

RUNS = 20
BIG_RUNS = 3


def median_seconds(action, runs: int) -> tuple[float, object]:
    result, times = None, []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def build(lines: int, *, firm_name: str):
    """A case with `lines` included injury lines and a firm as attorney of record."""
    from cases import services as case_services
    from cases.models import CaseParty, ClaimLine, EligibilitySpan, Jurisdiction, Member, Party
    from recovery.core.models import Role, User

    user, _ = User.objects.get_or_create(
        username="bench-specialist",
        defaults={"role": Role.SPECIALIST, "first_name": "Dana", "last_name": "Whitfield"},
    )
    n = Member.objects.count() + 1
    member = Member(
        program_id=f"B{900000000 + n}",
        first_name="Alex",
        last_name=f"Sample{n}",
        address_line1="1 Test Street",
        city="Springfield",
        state="FL",
    )
    member.save()
    EligibilitySpan.objects.create(member=member, start=date(2020, 1, 1))
    injury = date(2025, 3, 1)
    ClaimLine.objects.bulk_create(
        ClaimLine(
            member=member,
            claim_number=f"B{n:04d}{i:07d}",
            line_number=1,
            service_from=injury + timedelta(days=i % 300),
            provider_name=f"Springfield General Hospital {i % 9}",
            procedure_code="99283",
            diagnosis_codes="S8290XA V4352XA",
            paid_amount="123.45",
            paid_date=injury + timedelta(days=i % 300),
        )
        for i in range(lines)
    )
    case = case_services.open_case(
        created_by=user,
        member=member,
        incident_date=injury,
        incident_kind="auto",
        jurisdiction=Jurisdiction.objects.get(code="FL"),
        source="attorney_letter",
    )
    firm = Party.objects.create(
        kind=Party.Kind.LAW_FIRM,
        name=firm_name,
        address_line1="10 Main Street",
        city="Tampa",
        state="FL",
        postal_code="33602",
    )
    case_services.add_case_party(
        case=case, party=firm, role=CaseParty.Role.ATTORNEY_OF_RECORD, added_by=user
    )
    return case, firm, user


def main() -> None:
    from liens import letters

    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic():
        small_case, small_firm, user = build(30, firm_name="Smith & Jones LLP")
        two_case, two_firm, _ = build(60, firm_name="Two Page LLP")
        big_case, big_firm, _ = build(1000, firm_name="Big Firm LLP")
        notice = letters.build_context("lien_notice", small_case, small_firm, requested_by=user)
        short = letters.build_context("itemized_statement", two_case, two_firm, requested_by=user)
        statement = letters.build_context(
            "itemized_statement", big_case, big_firm, requested_by=user
        )
        transaction.set_rollback(True)

    empty = "<html><body><p>x</p></body></html>"

    def empty_page():
        return HTML(string=empty, url_fetcher=StaticOnlyFetcher()).write_pdf()

    empty_page()  # warm-up: imports, fonts
    raw, _ = median_seconds(empty_page, RUNS)

    def render(context):
        return lambda: letters.render_letter_pdf(context["template_version"], context)

    render(short)()
    two, rendered = median_seconds(render(short), RUNS)
    two_pages = letters.page_count(rendered.content)
    small, rendered = median_seconds(render(notice), RUNS)
    notice_pages = letters.page_count(rendered.content)
    big, rendered = median_seconds(render(statement), BIG_RUNS)
    big_pages = letters.page_count(rendered.content)

    print(f"raw limit: an empty WeasyPrint page          median {raw * 1000:7.1f} ms ({RUNS} runs)")
    print(
        f"{two_pages}-page letter (statement, 60 lines)       median {two * 1000:7.1f} ms "
        f"({RUNS} runs) = {two / raw:4.0f}x the empty page; target ≤ 500 ms"
    )
    print(
        f"{notice_pages}-page notice of lien (+30-line statement) median {small * 1000:7.1f} ms "
        f"({RUNS} runs) = {small / raw:4.0f}x the empty page"
    )
    print(
        f"1,000-line itemized statement ({big_pages} pages)   median {big:7.2f} s  "
        f"({BIG_RUNS} runs) = {big / raw:4.0f}x the empty page; target ≤ 5 s"
    )
    print(f"  {big:.2f} ms per statement line")
    _common.record(
        "letters",
        [
            _common.figure(
                f"{two_pages}-page letter PDF (median)",
                two * 1000,
                "ms",
                target=500,
                raw=raw * 1000,
                raw_label="an empty WeasyPrint page (median)",
                detail=f"{RUNS} runs; notice of lien ({notice_pages} pages) {small * 1000:.0f} ms",
            ),
            _common.figure(
                f"1,000-line itemized statement ({big_pages} pages, median)",
                big,
                "s",
                target=5.0,
                raw=raw,
                raw_label="an empty WeasyPrint page (median)",
                detail=f"{BIG_RUNS} runs",
            ),
        ],
        scale="own data",
    )


if __name__ == "__main__":
    main()
