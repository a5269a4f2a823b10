"""Case list and search at scale (DESIGN §7: p95 ≤ 100 ms at 1,000,000 cases, a fixed query
count), through the real view with a signed-in specialist and a supervisor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recovery_scale1m \\
        .venv/bin/python bench/bench_case_list.py [--requests 300] [--seed 1]

Needs a database seeded by ``manage.py seed_scale``. Each request goes through Django's test
client (every middleware, the session, the view, the template), DEBUG off:
- list: a random sort (every column, both ways), sometimes a status, state, "mine" or due-date
  filter, pages 1-3;
- search: a random term of a random case — a last-name prefix, "first last", the full program
  id, the case number, or the number's last digits — kept in the session as the view does
  (the timed request is the one that renders the results).
The raw limit of each request is the very statements it sent, replayed through bare psycopg2
(rolled back). Figures: p50 / p95 / max per user role and kind, the ratio p95 / raw p95, and
the number of SQL statements per request (it must not depend on the data).
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

SORTS = ["number", "opened", "incident", "lien", "member", "status", "sol"]
STATUSES = ["", "", "", "open", "new", "research", "notice", "follow_up", "settlement", "closed"]


def sample_cases(count: int, rng: random.Random):
    from cases.models import Case

    bounds = Case.objects.order_by("pk").values_list("pk", flat=True)
    low, high = bounds.first(), bounds.last()
    ids = rng.sample(range(low, high + 1), min(count * 2, high - low + 1))
    return list(Case.objects.filter(pk__in=ids).select_related("member")[:count])


def search_terms(cases, rng: random.Random) -> list[tuple[str, str]]:
    terms = []
    for case in cases:
        member = case.member
        kind = rng.choice(["prefix", "prefix", "name", "program_id", "number", "digits"])
        if kind == "prefix":
            term = member.last_name[: rng.randint(3, 5)]
        elif kind == "name":
            term = f"{member.first_name} {member.last_name}"
        elif kind == "program_id":
            term = member.program_id
        elif kind == "number":
            term = case.number
        else:
            term = case.number.rsplit("-", 1)[1].lstrip("0")[-4:] or "1"
        terms.append((kind, term))
    return terms


def list_params(rng: random.Random, user, jurisdictions) -> dict:
    params = {"sort": rng.choice(["", "-"]) + rng.choice(SORTS)}
    status = rng.choice(STATUSES)
    if status:
        params["status"] = status
    roll = rng.random()
    if roll < 0.15:
        params["jurisdiction"] = rng.choice(jurisdictions)
    elif roll < 0.3:
        params["specialist"] = "me" if user.role == "specialist" else "none"
    elif roll < 0.4:
        params["due"] = rng.choice(["overdue", "today", "week"])
    if rng.random() < 0.3:
        params["page"] = str(rng.randint(2, 3))
    return params


def timed(client, url: str, params: dict | None = None):
    """(seconds, statements, status) of one GET through the whole stack."""
    from django.db import connection

    recorder = _common.Recorder()
    with connection.execute_wrapper(recorder):
        started = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = time.perf_counter() - started
    return elapsed, recorder.statements, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per role and kind")
    parser.add_argument("--users", type=int, default=6, help="users per role")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--slowest", type=int, default=0, help="print the N slowest requests of each kind"
    )
    parser.add_argument("--only", choices=["specialist", "supervisor"], help="one role only")
    args = parser.parse_args()
    _common.production_env()
    _common.setup()
    from django.test import Client
    from django.urls import reverse

    from cases.models import Case, Jurisdiction
    from recovery.core.models import User

    rng = random.Random(args.seed)
    total = Case.objects.count()
    specialists = list(
        User.objects.filter(role="specialist", username__startswith="scale-").order_by("?")[
            : args.users
        ]
    )
    supervisors = list(
        User.objects.filter(role="supervisor", username__startswith="scale-").order_by("?")[
            : args.users
        ]
    )
    if not specialists or not supervisors:
        sys.exit("No scale users: seed the database with manage.py seed_scale first.")
    jurisdictions = list(
        Jurisdiction.objects.filter(cases__isnull=False).values_list("code", flat=True).distinct()
    )
    clients = {}
    for user in specialists + supervisors:
        client = Client()
        client.force_login(user)
        clients[user.pk] = client
    url = reverse("cases:list")
    raw = _common.raw_connection()
    print(
        f"{total:,} cases; {len(specialists)} specialists, {len(supervisors)} supervisors;"
        f" load average {_common.load_average()}"
    )

    def run(kind: str, users, make_request) -> dict:
        times, raws, counts, asked = [], [], [], []
        for n in range(args.requests + 10):
            user = users[n % len(users)]
            target, params = make_request(user)
            seconds, statements, status = timed(clients[user.pk], target, params)
            if status != 200:
                sys.exit(f"{kind}: {target} {params} answered {status}")
            if n < 10:
                continue  # warm-up: connections, template and plan caches
            times.append(seconds)
            raws.append(_common.replay(raw, statements))
            counts.append(len(statements))
            asked.append((seconds, user.username, target, params or searched.get("term")))
        for seconds, username, target, params in sorted(asked, reverse=True)[: args.slowest]:
            print(f"    {seconds * 1000:7.1f} ms  {username}  {target}  {params or ''}")
        return {"times": times, "raws": raws, "counts": counts}

    searched: dict = {}

    def list_request(user):
        return url, list_params(rng, user, jurisdictions)

    def search_request(user):
        case = search_pool[user.pk].pop()
        kind, term = case
        searched["term"] = f"{kind} search {term!r}"
        client = clients[user.pk]
        response = client.get(url, {"q": term})
        if response.status_code != 302:
            sys.exit(f"search {kind} answered {response.status_code}")
        return response["Location"], None

    from cases.selectors import cases_visible_to

    search_pool = {}
    for user in specialists + supervisors:
        visible = cases_visible_to(user)
        sample = [c for c in sample_cases(args.requests, rng) if visible.filter(pk=c.pk).exists()]
        sample = (sample * (args.requests // max(1, len(sample)) + 2))[: args.requests + 20]
        search_pool[user.pk] = search_terms(sample, rng)

    rows, report = [], {}
    for role, users in (("specialist", specialists), ("supervisor", supervisors)):
        if args.only and role != args.only:
            continue
        for kind, maker in (("list", list_request), ("search", search_request)):
            result = run(kind, users, maker)
            stats = _common.latency(result["times"])
            raw_stats = _common.latency(result["raws"])
            counts = result["counts"]
            report[(role, kind)] = result
            print(
                f"case {kind:6} ({role:10}): p50 {stats['p50']:6.1f} ms  p95 {stats['p95']:6.1f} ms"
                f"  max {stats['max']:6.1f} ms | raw SQL p95 {raw_stats['p95']:5.1f} ms"
                f" | ratio {stats['p95'] / raw_stats['p95']:4.1f}x"
                f" | statements {min(counts)}-{max(counts)} (n={stats['n']})"
            )
            rows.append(
                _common.figure(
                    f"case {kind} p95 ({role})",
                    stats["p95"],
                    "ms",
                    target=100,
                    raw=raw_stats["p95"],
                    raw_label="same SQL, bare psycopg2 (p95)",
                    detail=f"p50 {stats['p50']:.1f} ms, max {stats['max']:.1f} ms,"
                    f" {stats['n']} requests, {min(counts)}-{max(counts)} statements",
                )
            )
    _common.record("case_list", rows, notes=f"{total:,} cases")
    raw.close()


if __name__ == "__main__":
    main()
