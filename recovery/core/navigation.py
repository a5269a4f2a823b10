"""The role-aware navigation: one table, read by the base template.

Each app adds its entries here as its screens land; an entry whose URL does not exist yet is
skipped, so the menu never links to a missing page.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from .models import STAFF_ROLES, SUPERVISING_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]


STAFF = frozenset(STAFF_ROLES)
WORKERS = frozenset({Role.SPECIALIST, Role.SUPERVISOR, Role.ADMIN})

NAV: tuple[NavItem, ...] = (
    NavItem("My work", "home", STAFF),
    NavItem("Dashboard", "dashboard:index", STAFF),
    NavItem("Reports", "dashboard:reports", STAFF),
    NavItem("Cases", "cases:list", STAFF),
    NavItem("Claims import", "cases:import", WORKERS),
    NavItem("Leads", "cases:leads", WORKERS),
    NavItem("Disputes", "portal:disputes", STAFF),
    NavItem("Referrals", "portal:referrals", STAFF),
    NavItem("Calculator", "settlements:calculator", STAFF),
    NavItem("Letter batches", "liens:batches", WORKERS),
    NavItem("Approvals", "settlements:approvals", frozenset(SUPERVISING_ROLES)),
    NavItem("Holding account", "ledger:holding", frozenset(SUPERVISING_ROLES) | {Role.AUDITOR}),
    NavItem("Invite attorney", "portal:invite", WORKERS),
    NavItem("Team", "team", frozenset(SUPERVISING_ROLES) | {Role.AUDITOR}),
    NavItem("Access log", "access-log", frozenset({Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN})),
    NavItem("API", "api-docs", STAFF),
    NavItem("Admin", "admin:index", frozenset({Role.ADMIN})),
    NavItem("My cases", "portal:home", frozenset({Role.ATTORNEY})),
    NavItem("Refer a case", "portal:refer", frozenset({Role.ATTORNEY})),
)


def nav_for(user, current_path: str) -> list[dict]:
    items = []
    for item in NAV:
        if user.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "active": False})
    # One entry is current: the exact page, else the longest menu URL the path lies under (so
    # /dashboard/reports/ marks Reports, not Dashboard as well).
    matches = [
        entry
        for entry in items
        if current_path == entry["url"]
        or (entry["url"] != "/" and current_path.startswith(entry["url"]))
    ]
    if matches:
        max(matches, key=lambda entry: len(entry["url"]))["active"] = True
    return items
