"""Liens API: file, amend, release, withdraw; supervisors approve or reject changes.

Liens are reached through the cases the caller may see, so another team's lien is a 404.
"""

from django.shortcuts import get_object_or_404
from django.urls import include, path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from cases.models import Party
from cases.selectors import cases_visible_to
from recovery.core.permissions import IsStaffRole

from . import services
from .models import Lien, LienChange, LienFilingLine


class LienChangeSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)
    case = serializers.IntegerField(source="lien.case_id", read_only=True)
    case_number = serializers.CharField(source="lien.case.number", read_only=True)

    class Meta:
        model = LienChange
        fields = [
            "id",
            "lien",
            "case",
            "case_number",
            "kind",
            "status",
            "old_amount",
            "new_amount",
            "release_amount",
            "full_release",
            "reason",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class LienSerializer(serializers.ModelSerializer):
    case_number = serializers.CharField(source="case.number", read_only=True)
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    changes = LienChangeSerializer(many=True, read_only=True)

    class Meta:
        model = Lien
        fields = [
            "id",
            "case",
            "case_number",
            "status",
            "amount",
            "original_amount",
            "released_amount",
            "outstanding",
            "filed_with",
            "filed_with_kind",
            "filed_on",
            "method",
            "certified_mail_number",
            "court_case_number",
            "receipt_signed_on",
            "expires_on",
            "released_on",
            "release_sent_on",
            "created_at",
            "changes",
        ]
        read_only_fields = fields


class FilingLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = LienFilingLine
        fields = [
            "claim_number",
            "line_number",
            "service_from",
            "service_to",
            "provider_name",
            "procedure_code",
            "diagnosis_codes",
            "paid_amount",
            "paid_date",
            "change",
        ]


class LienCreateInput(serializers.Serializer):
    case = serializers.IntegerField()


class LienFileInput(serializers.Serializer):
    filed_with = serializers.PrimaryKeyRelatedField(queryset=Party.objects.filter(is_active=True))
    filed_on = serializers.DateField()
    method = serializers.ChoiceField(choices=Lien.Method.choices)
    filed_with_kind = serializers.ChoiceField(
        choices=Lien.FiledWith.choices, required=False, default=""
    )
    certified_mail_number = serializers.CharField(
        required=False, allow_blank=True, max_length=40, default=""
    )
    court_case_number = serializers.CharField(
        required=False, allow_blank=True, max_length=60, default=""
    )
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)


class LienDateInput(serializers.Serializer):
    on = serializers.DateField()


class LienAmendInput(serializers.Serializer):
    new_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, min_value=0
    )
    reason = serializers.CharField(max_length=2000)


class LienReleaseInput(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    reason = serializers.CharField(max_length=2000)


class LienReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class LienNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class LienViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsStaffRole]
    serializer_class = LienSerializer
    filterset_fields = ["case", "status"]
    ordering_fields = ["created_at", "filed_on", "amount"]

    def get_queryset(self):
        visible = cases_visible_to(self.request.user)
        return (
            Lien.objects.filter(case__in=visible)
            .select_related("case")
            .prefetch_related("changes__requested_by", "changes__decided_by")
        )

    @extend_schema(
        parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD: adds `amount_as_of`.")],
        responses=LienSerializer,
    )
    def retrieve(self, request, pk=None):
        lien = get_object_or_404(self.get_queryset(), pk=pk)
        data = LienSerializer(lien).data
        as_of = request.query_params.get("as_of")
        if as_of:
            day = serializers.DateField().to_internal_value(as_of)
            amount = lien.amount_as_of(day)
            data["amount_as_of"] = None if amount is None else f"{amount:.2f}"
        return Response(data)

    @extend_schema(request=LienCreateInput, responses={201: LienSerializer})
    def create(self, request):
        data = LienCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = get_object_or_404(cases_visible_to(request.user), pk=data.validated_data["case"])
        lien = services.create_lien(case=case, created_by=request.user)
        return Response(LienSerializer(lien).data, status=status.HTTP_201_CREATED)

    def _lien(self, pk) -> Lien:
        return get_object_or_404(self.get_queryset(), pk=pk)

    def _answer(self, lien: Lien) -> Response:
        return Response(LienSerializer(self._lien(lien.pk)).data)

    @extend_schema(request=LienFileInput, responses=LienSerializer)
    @action(detail=True, methods=["post"], url_path="file")
    def file(self, request, pk=None):
        lien = self._lien(pk)  # another team's lien is a 404 whatever the body
        data = LienFileInput(data=request.data)
        data.is_valid(raise_exception=True)
        lien = services.file_lien(lien=lien, filed_by=request.user, **data.validated_data)
        return self._answer(lien)

    @extend_schema(request=LienDateInput, responses=LienSerializer)
    @action(detail=True, methods=["post"])
    def receipt(self, request, pk=None):
        lien = self._lien(pk)
        data = LienDateInput(data=request.data)
        data.is_valid(raise_exception=True)
        lien = services.record_receipt(
            lien=lien, signed_on=data.validated_data["on"], recorded_by=request.user
        )
        return self._answer(lien)

    @extend_schema(request=LienAmendInput, responses={201: LienChangeSerializer})
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        lien = self._lien(pk)
        data = LienAmendInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.request_amendment(
            lien=lien, requested_by=request.user, **data.validated_data
        )
        return Response(LienChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LienReleaseInput, responses={201: LienChangeSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        lien = self._lien(pk)
        data = LienReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.request_release(
            lien=lien, requested_by=request.user, **data.validated_data
        )
        return Response(LienChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LienReasonInput, responses={201: LienChangeSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        lien = self._lien(pk)
        data = LienReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.request_withdrawal(
            lien=lien, requested_by=request.user, **data.validated_data
        )
        return Response(LienChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LienDateInput, responses=LienSerializer)
    @action(detail=True, methods=["post"], url_path="release-sent")
    def release_sent(self, request, pk=None):
        lien = self._lien(pk)
        data = LienDateInput(data=request.data)
        data.is_valid(raise_exception=True)
        lien = services.record_release_sent(
            lien=lien, sent_on=data.validated_data["on"], recorded_by=request.user
        )
        return self._answer(lien)

    @extend_schema(responses=FilingLineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def lines(self, request, pk=None):
        lien = self._lien(pk)
        page = self.paginate_queryset(lien.filing_lines.all())
        return self.get_paginated_response(FilingLineSerializer(page, many=True).data)


class LienChangeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Requests to amend, release or withdraw liens; `?status=requested` is the approval queue."""

    permission_classes = [IsStaffRole]
    serializer_class = LienChangeSerializer
    filterset_fields = ["status", "kind", "lien"]

    def get_queryset(self):
        visible = cases_visible_to(self.request.user)
        return LienChange.objects.filter(lien__case__in=visible).select_related(
            "lien__case", "requested_by", "decided_by"
        )

    def _change(self, pk) -> LienChange:
        return get_object_or_404(self.get_queryset(), pk=pk)

    @extend_schema(request=LienNoteInput, responses=LienChangeSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        change = self._change(pk)
        data = LienNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.approve_change(
            change=change, approved_by=request.user, **data.validated_data
        )
        return Response(LienChangeSerializer(self._change(change.pk)).data)

    @extend_schema(request=LienNoteInput, responses=LienChangeSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        change = self._change(pk)
        data = LienNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = services.reject_change(
            change=change, rejected_by=request.user, **data.validated_data
        )
        return Response(LienChangeSerializer(self._change(change.pk)).data)

    @extend_schema(request=None, responses=LienChangeSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        change = services.cancel_change(change=self._change(pk), cancelled_by=request.user)
        return Response(LienChangeSerializer(self._change(change.pk)).data)


router = SimpleRouter()
router.register("liens", LienViewSet, basename="lien")
router.register("lien-changes", LienChangeViewSet, basename="lienchange")

urlpatterns = [path("", include(router.urls))]
