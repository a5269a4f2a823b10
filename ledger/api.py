"""Ledger API (DESIGN §6): deposits, disbursement requests and their decisions, transactions.

Thin views: an input serializer validates, a service in `ledger.services` decides and writes
(the same service the screens call), an output serializer answers. Every lookup starts from the
selectors, so money on a case the caller may not see is a 404 (by id) or "does not exist" (a
400 naming the field, when sent as `case`). Domain errors become 400/403/409 in
`recovery.core.rest.exception_handler`.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from recovery.core.permissions import IsStaffRole, IsSupervisor

from . import selectors, services
from .serializers import (
    DepositFilterSerializer,
    DepositInputSerializer,
    DepositSerializer,
    DisbursementDecisionSerializer,
    DisbursementFilterSerializer,
    DisbursementInputSerializer,
    DisbursementRejectSerializer,
    DisbursementSerializer,
    TransactionFilterSerializer,
    TransactionReverseSerializer,
    TransactionSerializer,
)


def _filters(serializer_class, request) -> dict:
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data


class DepositViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Receipts posted to the holding account against a case."""

    permission_classes = [IsStaffRole]
    serializer_class = DepositSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet:
        deposits = selectors.deposits_visible_to(self.request.user).order_by("-received_on", "-id")
        if self.action == "list":
            data = _filters(DepositFilterSerializer, self.request)
            if "case" in data:
                deposits = deposits.filter(case_id=data["case"])
            if "received_from" in data:
                deposits = deposits.filter(received_on__gte=data["received_from"])
            if "received_to" in data:
                deposits = deposits.filter(received_on__lte=data["received_to"])
        return deposits

    def get_object(self):
        return selectors.deposit_get(user=self.request.user, id=self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter("case", int),
            OpenApiParameter("received_from", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("received_to", str, description="YYYY-MM-DD, inclusive"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=DepositInputSerializer,
        responses={
            201: DepositSerializer,
            200: DepositSerializer,
        },
        description=(
            "Posts the deposit (201). The same idempotency key again with the same case and "
            "amount posts nothing and answers the original deposit (200); with other figures "
            "it is a 409 `idempotency_mismatch`."
        ),
        examples=[
            OpenApiExample(
                "A check",
                request_only=True,
                value={
                    "case": 1,
                    "amount": "12500.00",
                    "received_on": "2026-01-15",
                    "payer": "Acme Mutual Insurance",
                    "instrument": "check",
                    "reference": "100234",
                    "idempotency_key": "chk-100234-2026-01-15",
                },
            )
        ],
    )
    def create(self, request):
        data = DepositInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        deposit, created = services.post_deposit(recorded_by=request.user, **data.validated_data)
        deposit = selectors.deposits_visible_to(request.user).get(pk=deposit.pk)
        return Response(
            DepositSerializer(deposit).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class DisbursementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Requests to move held money out; they post only when a supervisor who did not request
    them approves."""

    serializer_class = DisbursementSerializer
    filter_backends: list = []

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [IsSupervisor()]
        return [IsStaffRole()]

    def get_queryset(self) -> QuerySet:
        disbursements = selectors.disbursements_visible_to(self.request.user).order_by(
            "-requested_at", "-id"
        )
        if self.action == "list":
            data = _filters(DisbursementFilterSerializer, self.request)
            for name in ("case", "status", "purpose"):
                if name in data:
                    disbursements = disbursements.filter(**{name: data[name]})
        return disbursements

    def get_object(self):
        return selectors.disbursement_get(user=self.request.user, id=self.kwargs["pk"])

    def _answer(self, disbursement, code=status.HTTP_200_OK) -> Response:
        fresh = selectors.disbursement_get(user=self.request.user, id=disbursement.pk)
        return Response(DisbursementSerializer(fresh).data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("case", int),
            OpenApiParameter(
                "status", str, enum=["requested", "approved", "rejected", "cancelled"]
            ),
            OpenApiParameter("purpose", str),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DisbursementInputSerializer, responses={201: DisbursementSerializer})
    def create(self, request):
        data = DisbursementInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        disbursement = services.request_disbursement(
            requested_by=request.user, **data.validated_data
        )
        return self._answer(disbursement, status.HTTP_201_CREATED)

    @extend_schema(
        request=DisbursementDecisionSerializer,
        responses={200: DisbursementSerializer},
        description=(
            "Supervisors only, never the requester (403). Posts at once under the case's "
            "balance lock; 409 `overdraw` when the case holds less."
        ),
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = DisbursementDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        disbursement = services.approve_disbursement(
            disbursement=self.get_object(),
            approved_by=request.user,
            note=data.validated_data["note"],
        )
        return self._answer(disbursement)

    @extend_schema(request=DisbursementRejectSerializer, responses={200: DisbursementSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = DisbursementRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        disbursement = services.reject_disbursement(
            disbursement=self.get_object(),
            rejected_by=request.user,
            note=data.validated_data["note"],
        )
        return self._answer(disbursement)

    @extend_schema(request=None, responses={200: DisbursementSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        disbursement = services.cancel_disbursement(
            disbursement=self.get_object(), cancelled_by=request.user
        )
        return self._answer(disbursement)


class TransactionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Posted transactions with their entries (debit positive, credit negative)."""

    serializer_class = TransactionSerializer
    filter_backends: list = []

    def get_permissions(self):
        if self.action == "reverse":
            return [IsSupervisor()]
        return [IsStaffRole()]

    def get_queryset(self) -> QuerySet:
        transactions = selectors.transactions_visible_to(self.request.user).order_by(
            "-posted_at", "-id"
        )
        if self.action == "list":
            data = _filters(TransactionFilterSerializer, self.request)
            if "case" in data:
                transactions = transactions.filter(case_id=data["case"])
            if "kind" in data:
                transactions = transactions.filter(kind=data["kind"])
            if "posted_from" in data:
                transactions = transactions.filter(posted_on__gte=data["posted_from"])
            if "posted_to" in data:
                transactions = transactions.filter(posted_on__lte=data["posted_to"])
        return transactions

    def get_object(self):
        return selectors.transaction_get(user=self.request.user, id=self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter("case", int),
            OpenApiParameter("kind", str, enum=["deposit", "disbursement", "payout", "reversal"]),
            OpenApiParameter("posted_from", str),
            OpenApiParameter("posted_to", str),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TransactionReverseSerializer,
        responses={201: TransactionSerializer},
        description="Supervisors only: posts the mirror image (201 with the reversal).",
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        data = TransactionReverseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = services.reverse_transaction(
            original=self.get_object(),
            reversed_by=request.user,
            reason=data.validated_data["reason"],
        )
        fresh = selectors.transaction_get(user=request.user, id=reversal.pk)
        return Response(TransactionSerializer(fresh).data, status=status.HTTP_201_CREATED)
