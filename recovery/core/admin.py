from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import Notification, PhiAccess, Team, User


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):
    list_display = ["username", "get_full_name", "role", "team", "is_active", "last_login"]
    list_filter = ["role", "team", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (
            "Recovery",
            {
                "fields": (
                    "role",
                    "team",
                    "title",
                    "phone",
                    "authority_max_reduction_amount",
                    "authority_max_reduction_percent",
                )
            },
        ),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Recovery", {"fields": ("role", "team")}),)


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "supervisor"]


@admin.register(PhiAccess)
class PhiAccessAdmin(admin.ModelAdmin):
    """Read-only: the access log is evidence and is never edited."""

    list_display = ["at", "user", "action", "subject_type", "subject_id", "case_id", "path"]
    list_filter = ["action", "subject_type"]
    search_fields = ["user__username"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "title", "read_at"]
    list_filter = ["kind"]
