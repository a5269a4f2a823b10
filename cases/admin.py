"""Admin for reference data (jurisdictions, limitation rules, parties) and a read-mostly view
of casework records. Casework itself happens in the product's screens, not here."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Case,
    ClaimLine,
    DeadlineRule,
    FmapRate,
    Holiday,
    ImportBatch,
    Jurisdiction,
    Member,
    Party,
    SolRule,
)


class SolRuleInline(admin.TabularInline):
    model = SolRule
    extra = 0


class FmapRateInline(admin.TabularInline):
    model = FmapRate
    extra = 0


@admin.register(Jurisdiction)
class JurisdictionAdmin(SimpleHistoryAdmin):
    list_display = [
        "code",
        "name",
        "default_formula",
        "default_sol_years",
        "response_days",
        "is_active",
    ]
    list_editable = ["default_sol_years", "response_days", "is_active"]
    list_filter = ["default_formula", "is_active"]
    search_fields = ["code", "name"]
    inlines = [SolRuleInline, FmapRateInline]


@admin.register(FmapRate)
class FmapRateAdmin(SimpleHistoryAdmin):
    list_display = ["jurisdiction", "fiscal_year", "rate", "expansion_rate"]
    list_filter = ["fiscal_year"]


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(SimpleHistoryAdmin):
    list_display = ["event", "jurisdiction", "program", "days", "business_days", "citation"]
    list_filter = ["event", "business_days"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["day", "name", "jurisdiction"]
    list_filter = ["jurisdiction"]
    date_hierarchy = "day"


@admin.register(SolRule)
class SolRuleAdmin(SimpleHistoryAdmin):
    list_display = ["jurisdiction", "incident_kind", "years", "citation"]
    list_filter = ["incident_kind"]


@admin.register(Party)
class PartyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "firm", "city", "state", "is_active"]
    list_filter = ["kind", "state", "is_active"]
    search_fields = ["name", "contact_name", "naic_code", "bar_number"]
    raw_id_fields = ["firm"]


@admin.register(Member)
class MemberAdmin(SimpleHistoryAdmin):
    """Names only in lists; encrypted identifiers are never listed or searched here."""

    list_display = ["id", "last_name", "first_name", "state"]
    search_fields = ["last_name", "first_name"]
    exclude = ["program_id_hash", "ssn_hash"]


@admin.register(Case)
class CaseAdmin(SimpleHistoryAdmin):
    list_display = ["number", "status", "jurisdiction", "assigned_to", "lien_amount", "opened_at"]
    list_filter = ["status", "jurisdiction", "incident_kind"]
    search_fields = ["number"]
    raw_id_fields = ["member", "assigned_to", "created_by"]
    readonly_fields = ["number", "lien_amount"]


@admin.register(ClaimLine)
class ClaimLineAdmin(admin.ModelAdmin):
    list_display = [
        "claim_number",
        "line_number",
        "service_from",
        "procedure_code",
        "paid_amount",
        "screening_decision",
    ]
    list_filter = ["screening_decision", "source"]
    search_fields = ["claim_number"]
    raw_id_fields = ["member", "batch"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["filename", "format", "status", "inserted", "updated", "rejected", "created_at"]
    list_filter = ["status", "format"]
