"""Settlements API. `POST /api/settlements/calculate/` is a fixed interface (DESIGN §6).

The rest is thin: input serializer → service → output serializer. Every object is reached
through `cases_visible_to` (via `selectors`), so a case or settlement the caller may not see is a
404; auditors read and never write; the services' refusals become 400 / 403 / 409 through the
project's exception handler.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Party
from cases.selectors import case_get
from recovery.core.models import STAFF_ROLES
from recovery.core.permissions import IsStaffRole

from . import calculator, selectors, services
from .models import BalanceAdjustment, Installment, Settlement
from .serializers import (
    AdjustmentDecisionInputSerializer,
    AdjustmentInputSerializer,
    AdjustmentSerializer,
    ArrangementSerializer,
    DecisionInputSerializer,
    InstallmentSerializer,
    InstallmentsInputSerializer,
    NegotiationEntrySerializer,
    NegotiationInputSerializer,
    PaymentInputSerializer,
    ProposeInputSerializer,
    RejectInputSerializer,
    SettlementCalculationInputSerializer,
    SettlementCalculationSerializer,
    SettlementSerializer,
)


class MayCalculate(BasePermission):
    """Staff roles, auditors included: the calculation is a POST only to carry a body — it
    writes nothing, so the read-only rule for auditors does not apply. Attorneys get a 403."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.role in STAFF_ROLES)


class CalculateApi(APIView):
    permission_classes = [MayCalculate]

    @extend_schema(
        operation_id="settlements_calculate",
        summary="Compute the recovery under each formula, with every step",
        request=SettlementCalculationInputSerializer,
        responses={200: SettlementCalculationSerializer},
        examples=[
            OpenApiExample(
                "A settlement larger than the lien",
                request_only=True,
                value={
                    "gross_settlement": "20000.00",
                    "attorney_fees": "6000.00",
                    "costs": "1000.00",
                    "program_paid": "5000.00",
                    "full_value": "100000.00",
                },
            )
        ],
    )
    def post(self, request):
        serializer = SettlementCalculationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = calculator.calculate(
            serializer.validated_data["inputs"], serializer.validated_data["formula"]
        )
        return Response(SettlementCalculationSerializer({"results": results}).data)


# ---------------------------------------------------------------------------------------------
# Settlements, negotiation log, installments, balance adjustments
# ---------------------------------------------------------------------------------------------


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiValidationError({name: "Must be a whole number."}) from exc


CASE_FILTER = OpenApiParameter("case", int, description="Only this case's rows.")


def _status_filter(choices) -> OpenApiParameter:
    return OpenApiParameter("status", str, enum=[value for value, _ in choices])


class StaffViewSet(viewsets.GenericViewSet):
    permission_classes = [IsStaffRole]
    filter_backends: list = []
    lookup_value_regex = r"\d+"

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _filtered(self, queryset, statuses=None):
        case = _int_param(self.request, "case")
        if case is not None:
            queryset = queryset.filter(case_id=case)
        wanted = self.request.query_params.get("status")
        if wanted:
            if statuses is not None and wanted not in statuses:
                raise ApiValidationError({"status": f"Use one of: {', '.join(statuses)}."})
            queryset = queryset.filter(status=wanted)
        return queryset

    def _page(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class SettlementViewSet(StaffViewSet):
    """Settlements on cases visible to the caller. Proposing is for the case's specialist or a
    supervisor; approving and rejecting for a supervisor who did not propose it."""

    serializer_class = SettlementSerializer

    def get_queryset(self):
        return selectors.settlements_visible_to(self.request.user)

    @extend_schema(
        parameters=[CASE_FILTER, _status_filter(Settlement.Status.choices)],
        responses=SettlementSerializer(many=True),
    )
    def list(self, request):
        queryset = self._filtered(self.get_queryset(), Settlement.Status.values)
        return self._page(queryset.order_by("-proposed_at", "-id"), SettlementSerializer)

    @extend_schema(
        summary="Propose a settlement: accepted within the proposer's authority, else pending",
        request=ProposeInputSerializer,
        responses={201: SettlementSerializer},
    )
    def create(self, request):
        data = dict(_validated(ProposeInputSerializer, request))
        case = case_get(user=request.user, id=data.pop("case"))
        settlement = services.propose_settlement(case=case, proposed_by=request.user, **data)
        return Response(SettlementSerializer(settlement).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(SettlementSerializer(self.get_object()).data)

    @extend_schema(request=DecisionInputSerializer, responses=SettlementSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = _validated(DecisionInputSerializer, request)
        settlement = services.approve_settlement(
            settlement=self.get_object(), approved_by=request.user, note=data["note"]
        )
        return Response(SettlementSerializer(settlement).data)

    @extend_schema(request=RejectInputSerializer, responses=SettlementSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        settlement = self.get_object()
        data = _validated(RejectInputSerializer, request)
        settlement = services.reject_settlement(
            settlement=settlement, rejected_by=request.user, note=data["note"]
        )
        return Response(SettlementSerializer(settlement).data)

    @extend_schema(request=None, responses=SettlementSerializer)
    @action(detail=True, methods=["post"])
    def supersede(self, request, pk=None):
        settlement = services.supersede_settlement(settlement=self.get_object(), by=request.user)
        return Response(SettlementSerializer(settlement).data)

    @extend_schema(request=InstallmentsInputSerializer, responses={201: ArrangementSerializer})
    @action(detail=True, methods=["post"])
    def installments(self, request, pk=None):
        settlement = self.get_object()
        data = _validated(InstallmentsInputSerializer, request)
        arrangement = services.arrange_installments(
            settlement=settlement,
            arranged_by=request.user,
            installments=data["installments"],
            first_due_on=data["first_due_on"],
        )
        return Response(ArrangementSerializer(arrangement).data, status=status.HTTP_201_CREATED)


class InstallmentViewSet(StaffViewSet):
    serializer_class = InstallmentSerializer

    def get_queryset(self):
        return Installment.objects.filter(
            arrangement__settlement__in=selectors.settlements_visible_to(self.request.user)
        )

    @extend_schema(request=PaymentInputSerializer, responses=InstallmentSerializer)
    @action(detail=True, methods=["post"])
    def payment(self, request, pk=None):
        installment = self.get_object()
        data = _validated(PaymentInputSerializer, request)
        installment = services.record_installment_payment(
            installment=installment, amount=data["amount"], recorded_by=request.user
        )
        return Response(InstallmentSerializer(installment).data)


class NegotiationViewSet(StaffViewSet):
    """The negotiation log (`?case=` for one case's), newest first; POST logs a step."""

    serializer_class = NegotiationEntrySerializer

    def get_queryset(self):
        return selectors.negotiation_visible_to(self.request.user)

    @extend_schema(parameters=[CASE_FILTER], responses=NegotiationEntrySerializer(many=True))
    def list(self, request):
        queryset = self._filtered(self.get_queryset())
        return self._page(queryset.order_by("-occurred_on", "-id"), NegotiationEntrySerializer)

    @extend_schema(request=NegotiationInputSerializer, responses={201: NegotiationEntrySerializer})
    def create(self, request):
        data = dict(_validated(NegotiationInputSerializer, request))
        case = case_get(user=request.user, id=data.pop("case"))
        party_id = data.pop("party", None)
        party = None
        if party_id is not None:
            party = Party.objects.filter(pk=party_id).first()
            if party is None:
                raise ApiValidationError({"party": "No such party."})
        entry = services.log_negotiation(case=case, logged_by=request.user, party=party, **data)
        return Response(NegotiationEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(NegotiationEntrySerializer(self.get_object()).data)


class AdjustmentViewSet(StaffViewSet):
    """Waivers, compromises and write-offs; a supervisor who did not ask decides."""

    serializer_class = AdjustmentSerializer

    def get_queryset(self):
        return selectors.adjustments_visible_to(self.request.user)

    @extend_schema(
        parameters=[CASE_FILTER, _status_filter(BalanceAdjustment.Status.choices)],
        responses=AdjustmentSerializer(many=True),
    )
    def list(self, request):
        queryset = self._filtered(self.get_queryset(), BalanceAdjustment.Status.values)
        return self._page(queryset.order_by("-requested_at", "-id"), AdjustmentSerializer)

    @extend_schema(request=AdjustmentInputSerializer, responses={201: AdjustmentSerializer})
    def create(self, request):
        data = dict(_validated(AdjustmentInputSerializer, request))
        case = case_get(user=request.user, id=data.pop("case"))
        adjustment = services.request_adjustment(case=case, requested_by=request.user, **data)
        return Response(AdjustmentSerializer(adjustment).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(AdjustmentSerializer(self.get_object()).data)

    @extend_schema(request=AdjustmentDecisionInputSerializer, responses=AdjustmentSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        adjustment = self.get_object()
        data = _validated(AdjustmentDecisionInputSerializer, request)
        adjustment = services.decide_adjustment(
            adjustment=adjustment,
            decided_by=request.user,
            approve=data["approve"],
            note=data["note"],
        )
        return Response(AdjustmentSerializer(adjustment).data)
