"""DRF plumbing named in settings. Kept apart from the API views: DRF imports these while it
loads its own settings, so this module must not import DRF views or generics at import time."""

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from .exceptions import Conflict


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    """Domain errors become clean 400/403/404/409 answers; nothing leaks as a 500.

    Every error body is an object (see ERROR_SCHEMAS): `{"detail"}` for 401/403/404/405/429,
    `{"detail", "code"}` for a 409, and field name → messages for a 400."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            detail = exc.message_dict
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, exceptions.ValidationError) and not isinstance(exc.detail, dict):
        # A bare message (e.g. a query parameter checked in the view) is not about a body field.
        exc = exceptions.ValidationError(detail={"non_field_errors": exc.detail})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, ObjectDoesNotExist | Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, Conflict):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)


# ---------------------------------------------------------------------------------------------
# Error responses in the OpenAPI schema
# ---------------------------------------------------------------------------------------------

_MESSAGES = {"type": "array", "items": {"type": "string"}}

ERROR_SCHEMAS = {
    "Error": {
        "type": "object",
        "description": "An error about the request as a whole.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "ConflictError": {
        "type": "object",
        "description": "The request is valid but the current state forbids it.",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "A stable name of the conflict."},
        },
        "required": ["detail", "code"],
    },
    "ValidationError": {
        "type": "object",
        "description": (
            "Field name → messages (a nested object or a list of them for nested data); "
            "`non_field_errors` for the request as a whole; `detail` for a body that could not "
            "be read."
        ),
        "properties": {"non_field_errors": _MESSAGES, "detail": {"type": "string"}},
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
                {"type": "object"},
            ]
        },
    },
}

_ERRORS = {
    "400": ("ValidationError", "The input is not valid."),
    "401": ("Error", "No valid token or session."),
    "403": ("Error", "The caller's role does not allow this."),
    "404": ("Error", "No such object among those the caller may see, or no such page."),
    "409": ("ConflictError", "The current state forbids this (see `code`)."),
    "429": ("Error", "Too many requests; try again later."),
}
_WRITES = {"post", "put", "patch", "delete"}


def _throttled_operations(generator) -> set[tuple[str, str]]:
    """(path, method) of the operations whose views throttle their callers."""
    found = set()
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        view_class = getattr(callback, "cls", None)
        if view_class is not None and getattr(view_class, "throttle_classes", None):
            view = generator.create_view(callback, method)
            found.add((generator.coerce_path(path, method, view), method.lower()))
    return found


def error_responses_hook(result, generator, request, public):
    """drf-spectacular postprocessing hook: document each operation's error responses.

    drf-spectacular documents success answers only; these are the errors this API really
    gives (see `exception_handler`): 400 for a body or query that is not valid, 401 and 403
    for authentication and role, 404 for an unknown id (in the path or a write's body) or
    page, 409 for a conflict with the current state, 429 where a view throttles. A response an
    operation already documents keeps its description and gets the body schema."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    throttled = _throttled_operations(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _WRITES | {"get", "head"}:
                continue
            parameters = operation.get("parameters", [])
            authenticated = bool(operation.get("security")) and {} not in operation["security"]
            codes = set()
            if method in _WRITES or any(p.get("in") == "query" for p in parameters):
                codes.add("400")
            if authenticated:
                codes |= {"401", "403"}
            if authenticated and method in _WRITES:
                # A write names objects (in its path or its body) the caller may not see.
                codes |= {"404", "409"}
            if "{" in path or any(p.get("name") == "page" for p in parameters):
                codes.add("404")
            if (path, method) in throttled:
                codes.add("429")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes | (set(responses) & set(_ERRORS))):
                component, description = _ERRORS[code]
                response = responses.setdefault(code, {"description": description})
                response.setdefault("content", {})["application/json"] = {
                    "schema": {"$ref": f"#/components/schemas/{component}"}
                }
    return result
