"""Role checks shared by every app: DRF permission classes and a decorator for HTML views."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import STAFF_ROLES, SUPERVISING_ROLES, Role


def _authenticated(request) -> bool:
    return bool(request.user and request.user.is_authenticated and request.user.is_active)


class HasRole(BasePermission):
    """Allows the listed roles; auditors, when listed, may only read."""

    roles: frozenset[str] = frozenset()
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not _authenticated(request) or request.user.role not in self.roles:
            return False
        if request.user.role == Role.AUDITOR and request.method not in SAFE_METHODS:
            return False
        return True


def role_permission(*roles: str) -> type[HasRole]:
    """A permission class for exactly these roles, e.g. ``role_permission(Role.SUPERVISOR)``."""
    return type("RolePermission", (HasRole,), {"roles": frozenset(roles)})


class IsStaffRole(HasRole):
    """Everyone inside the unit (auditors read-only). The default for the API."""

    roles = STAFF_ROLES


class IsSupervisor(HasRole):
    roles = SUPERVISING_ROLES


class IsSupervisorOrAuditor(HasRole):
    roles = SUPERVISING_ROLES | {Role.AUDITOR}


class IsAttorney(HasRole):
    roles = frozenset({Role.ATTORNEY})


class IsAuthenticatedAnyRole(HasRole):
    roles = frozenset(Role.values)


def role_required(*roles: str) -> Callable:
    """Decorator for HTML views: anonymous users go to login, other roles get a 403."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in allowed:
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(*STAFF_ROLES)
