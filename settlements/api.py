"""Settlements API. `POST /api/settlements/calculate/` is a fixed interface (DESIGN §6)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from recovery.core.models import STAFF_ROLES

from . import calculator
from .serializers import SettlementCalculationInputSerializer, SettlementCalculationSerializer


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
