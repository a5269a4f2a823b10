"""Ledger admin: administrators map accounts to the agency's general-ledger codes; everything
posted is shown read-only (the database refuses changes to entries and transactions anyway)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Account, BankStatement, Deposit, Disbursement, Entry, Transaction


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "type", "external_code"]
    list_editable = ["external_code"]
    fields = ["code", "name", "type", "external_code"]
    readonly_fields = ["code", "type"]
    search_fields = ["code", "name", "external_code"]

    def has_add_permission(self, request) -> bool:
        return False  # the chart of accounts is fixed by migration

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "case", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "posted_on", "kind", "case", "memo", "posted_by", "reverses"]
    list_filter = ["kind", "posted_on"]
    list_select_related = ["case", "posted_by", "reverses"]
    search_fields = ["=id", "memo", "case__number"]
    raw_id_fields = ["case", "posted_by", "reverses"]
    date_hierarchy = "posted_on"
    inlines = [EntryInline]
    show_full_result_count = False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "account", "case", "amount"]
    list_filter = ["account"]
    list_select_related = ["transaction", "account", "case"]
    search_fields = ["=transaction__id", "case__number"]
    raw_id_fields = ["transaction", "case"]
    show_full_result_count = False


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["id", "received_on", "case", "amount", "instrument", "reference", "payer"]
    list_filter = ["instrument", "received_on"]
    list_select_related = ["case"]
    search_fields = ["reference", "payer", "case__number", "idempotency_key"]
    raw_id_fields = ["case", "transaction", "settlement", "installment", "recorded_by"]
    show_full_result_count = False


@admin.register(Disbursement)
class DisbursementAdmin(ReadOnlyAdmin):
    list_display = ["id", "requested_at", "case", "amount", "purpose", "status", "requested_by"]
    list_filter = ["status", "purpose"]
    list_select_related = ["case", "requested_by"]
    search_fields = ["payee", "case__number"]
    raw_id_fields = ["case", "transaction", "requested_by", "decided_by"]
    show_full_result_count = False


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ["id", "filename", "period_start", "period_end", "imported_by", "imported_at"]
    list_select_related = ["imported_by"]
